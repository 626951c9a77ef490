import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { Database } from "../../src/db/database.js";
import { migrate } from "../../src/db/migrator.js";
import { openPglite } from "../../src/db/pglite.js";
import { openPostgres } from "../../src/db/postgres.js";

export const postgresUrl = process.env.DATABASE_URL;
export const onPostgres = Boolean(postgresUrl);
export const backendName = onPostgres ? "postgres" : "pglite";

/** Where a test's server or store keeps its data: a fresh PostgreSQL database, or a fresh PGlite folder. */
export interface TestDatabaseLocation {
  databaseUrl: string | undefined;
  dataDir: string;
  drop(): Promise<void>;
}

/** A database of its own for each test file, so files can run in parallel on one cluster. */
export async function createTestLocation(): Promise<TestDatabaseLocation> {
  const dataDir = mkdtempSync(join(tmpdir(), "keyledger-test-"));
  if (!postgresUrl) {
    return { databaseUrl: undefined, dataDir, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const name = `kl_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return {
    databaseUrl: url.toString(),
    dataDir,
    async drop() {
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function openAt(location: TestDatabaseLocation, poolSize = 10): Promise<Database> {
  return location.databaseUrl
    ? openPostgres({ url: location.databaseUrl, poolSize })
    : openPglite(location.dataDir);
}

/** A migrated database for one test file, and a function that closes and drops it. */
export async function createTestDatabase(): Promise<{ db: Database; location: TestDatabaseLocation; cleanup(): Promise<void> }> {
  const location = await createTestLocation();
  const db = await openAt(location);
  await migrate(db);
  return {
    db,
    location,
    async cleanup() {
      await db.close();
      await location.drop();
    },
  };
}

/** Runs `use` on a fresh location and drops it afterwards, whatever happens. */
export async function withTestLocation<T>(use: (location: TestDatabaseLocation) => Promise<T>): Promise<T> {
  const location = await createTestLocation();
  try {
    return await use(location);
  } finally {
    await location.drop();
  }
}
