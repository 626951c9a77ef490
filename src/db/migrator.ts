import { createHash, randomUUID } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Database, SqlClient } from "./database.js";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../prisma/migrations", import.meta.url));

/** The advisory lock key `prisma migrate` takes, so our migrator and Prisma's never run at once. */
const PRISMA_MIGRATE_LOCK = 72707369;

export interface Migration {
  name: string;
  script: string;
  checksum: string;
}

export interface MigrationReport {
  applied: string[];
  /** Recorded in the database but not present here: a newer release migrated this database. */
  unknown: string[];
}

export class MigrationError extends Error {
  override name = "MigrationError";
}

/** Prisma's checksum: SHA-256 of the script, hex; it accepts either line ending on comparison. */
export function checksumOf(script: string): string {
  return createHash("sha256").update(script).digest("hex");
}

function matchesChecksum(script: string, checksum: string): boolean {
  const lf = script.replaceAll("\r\n", "\n");
  return [script, lf, lf.replaceAll("\n", "\r\n")].some((variant) => checksumOf(variant) === checksum);
}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((name) => statSync(join(dir, name)).isDirectory())
    .sort()
    .map((name) => {
      const script = readFileSync(join(dir, name, "migration.sql"), "utf8");
      return { name, script, checksum: checksumOf(script) };
    });
}

const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

interface AppliedRow {
  [key: string]: unknown;
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
}

async function readApplied(sql: SqlClient): Promise<AppliedRow[]> {
  const { rows } = await sql.query<AppliedRow>(
    `SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL`,
  );
  return rows;
}

function check(migrations: Migration[], applied: AppliedRow[]): { pending: Migration[]; unknown: string[] } {
  const local = new Map(migrations.map((m) => [m.name, m]));
  for (const row of applied) {
    const migration = local.get(row.migration_name);
    if (!migration) continue;
    if (row.finished_at === null) {
      throw new MigrationError(
        `Migration ${row.migration_name} failed earlier and was never finished. Fix the database, then mark it with "prisma migrate resolve".`,
      );
    }
    if (!matchesChecksum(migration.script, row.checksum)) {
      throw new MigrationError(
        `Migration ${row.migration_name} was changed after it was applied (recorded checksum ${row.checksum}, file now ${migration.checksum}). Restore the file; never edit an applied migration, add a new one.`,
      );
    }
  }
  const done = new Set(applied.map((row) => row.migration_name));
  return {
    pending: migrations.filter((m) => !done.has(m.name)),
    unknown: [...done].filter((name) => !local.has(name)).sort(),
  };
}

/** Applied rows, or undefined when the database has no `_prisma_migrations` table yet. */
async function readAppliedIfPresent(sql: SqlClient): Promise<AppliedRow[] | undefined> {
  const { rows } = await sql.query<{ present: boolean }>(`SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS present`);
  return rows[0]?.present ? readApplied(sql) : undefined;
}

/**
 * Applies pending migrations in one transaction under Prisma's migrate lock, recording each
 * in `_prisma_migrations` exactly as Prisma does. Re-running is a no-op; concurrent runs wait.
 * A database that already has every migration, finished and unaltered (every restart), is only
 * read, without the lock or a transaction: applied migrations are never removed. Anything else
 * (pending, unfinished: `prisma migrate deploy` may be running, altered) takes the locked path.
 */
export async function migrate(db: Database, migrations = loadMigrations()): Promise<MigrationReport> {
  const settled = await settledReport(db, migrations).catch(() => undefined);
  return settled ?? migrateLocked(db, migrations);
}

async function settledReport(db: Database, migrations: Migration[]): Promise<MigrationReport | undefined> {
  const applied = await readAppliedIfPresent(db);
  if (!applied) return undefined;
  const { pending, unknown } = check(migrations, applied);
  return pending.length === 0 ? { applied: [], unknown } : undefined;
}

function migrateLocked(db: Database, migrations: Migration[]): Promise<MigrationReport> {
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [PRISMA_MIGRATE_LOCK]);
    await tx.exec(CREATE_MIGRATIONS_TABLE);
    const { pending, unknown } = check(migrations, await readApplied(tx));
    for (const migration of pending) {
      await tx.exec(migration.script);
      await tx.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
         VALUES ($1, $2, $3, now(), clock_timestamp(), 1)`,
        [randomUUID(), migration.checksum, migration.name],
      );
    }
    return { applied: pending.map((m) => m.name), unknown };
  });
}

/** True when every local migration is applied and none was altered (for /readyz). */
export async function isMigrated(db: Database, migrations = loadMigrations()): Promise<boolean> {
  const applied = await readAppliedIfPresent(db);
  if (!applied) return false;
  try {
    return check(migrations, applied).pending.length === 0;
  } catch {
    return false;
  }
}
