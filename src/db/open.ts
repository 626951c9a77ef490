import type { Config } from "../config.js";
import type { Database } from "./database.js";
import { openPglite } from "./pglite.js";
import { openPostgres } from "./postgres.js";

export async function openDatabase(
  config: Pick<Config, "databaseUrl" | "dataDir" | "dbPoolSize">,
  onError?: (error: Error) => void,
): Promise<Database> {
  if (config.databaseUrl) {
    return openPostgres({ url: config.databaseUrl, poolSize: config.dbPoolSize, onError });
  }
  return openPglite(config.dataDir);
}
