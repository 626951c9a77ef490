import type { Config } from "../config.js";
import type { Database } from "./database.js";

/** Each backend's modules are loaded only when it is the one configured (pg is not needed on the embedded default). */
export async function openDatabase(
  config: Pick<Config, "databaseUrl" | "dataDir" | "dbPoolSize" | "dbPreparedStatements">,
  onError?: (error: Error) => void,
): Promise<Database> {
  if (config.databaseUrl) {
    const { openPostgres } = await import("./postgres.js");
    return openPostgres({ url: config.databaseUrl, poolSize: config.dbPoolSize, preparedStatements: config.dbPreparedStatements, onError });
  }
  const { openPglite } = await import("./pglite.js");
  return openPglite(config.dataDir);
}
