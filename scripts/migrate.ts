// npm run db:migrate: applies pending migrations to the configured database (DATABASE_URL or DATA_DIR).
import { loadConfig } from "../src/config.js";
import { migrate } from "../src/db/migrator.js";
import { openDatabase } from "../src/db/open.js";

const config = loadConfig();
const db = await openDatabase(config);
try {
  const report = await migrate(db);
  console.log(report.applied.length ? `applied: ${report.applied.join(", ")}` : "database is up to date");
  if (report.unknown.length) console.log(`applied by a newer release: ${report.unknown.join(", ")}`);
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
} finally {
  await db.close();
}
