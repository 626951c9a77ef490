import { afterEach, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import type { Database } from "../src/db/database.js";
import { isMigrated, loadMigrations, migrate, MIGRATIONS_DIR, MigrationError } from "../src/db/migrator.js";
import { backendName, createTestLocation, onPostgres, openAt, type TestDatabaseLocation } from "./support/databases.js";
import { startTestServer } from "./support/server.js";

describe(`migrations (${backendName})`, () => {
  const opened: Database[] = [];
  let location: TestDatabaseLocation | undefined;

  async function fresh(): Promise<Database> {
    location = await createTestLocation();
    const db = await openAt(location);
    opened.push(db);
    return db;
  }

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((db) => db.close()));
    await location?.drop();
  });

  it("applies every migration to a fresh database and records it as Prisma does", async () => {
    const db = await fresh();
    expect(await isMigrated(db)).toBe(false);
    const report = await migrate(db);
    const names = loadMigrations().map((m) => m.name);
    expect(report.applied).toEqual(names);
    expect(await isMigrated(db)).toBe(true);
    const { rows } = await db.query<{ migration_name: string; checksum: string; finished_at: Date | null; applied_steps_count: number }>(
      `SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name`,
    );
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    for (const row of rows) {
      const script = readFileSync(join(MIGRATIONS_DIR, row.migration_name, "migration.sql"));
      expect(row.checksum).toBe(createHash("sha256").update(script).digest("hex"));
      expect(row.finished_at).not.toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }
  });

  it("is a no-op when run again", async () => {
    const db = await fresh();
    await migrate(db);
    expect(await migrate(db)).toEqual({ applied: [], unknown: [] });
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "_prisma_migrations"`);
    expect(rows[0]!.n).toBe(loadMigrations().length);
  });

  it("stops with a clear message when an applied migration was changed", async () => {
    const db = await fresh();
    await migrate(db);
    const tampered = loadMigrations().map((m, i) => (i === 0 ? { ...m, script: `${m.script}\n-- edited later\n` } : m));
    await expect(migrate(db, tampered)).rejects.toThrow(MigrationError);
    await expect(migrate(db, tampered)).rejects.toThrow(/was changed after it was applied/);
    expect(await isMigrated(db, tampered)).toBe(false);
  });

  it("refuses to start the server on a database whose applied migration was altered", async () => {
    const db = await fresh();
    await migrate(db);
    await db.query(`UPDATE "_prisma_migrations" SET checksum = repeat('0', 64)`);
    await db.close();
    opened.length = 0;
    await expect(startTestServer(location!)).rejects.toThrow(/was changed after it was applied/);
  });

  it("reports migrations the database has but this release does not", async () => {
    const db = await fresh();
    await migrate(db);
    await db.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, finished_at, applied_steps_count)
       VALUES ('00000000-0000-0000-0000-000000000001', repeat('a', 64), '29991231000000_from_the_future', now(), 1)`,
    );
    expect(await migrate(db)).toEqual({ applied: [], unknown: ["29991231000000_from_the_future"] });
  });

  it.runIf(onPostgres)("lets several processes migrate one database at once without corrupting it", async () => {
    await fresh();
    const pools = await Promise.all(Array.from({ length: 4 }, () => openAt(location!, 2)));
    opened.push(...pools);
    const reports = await Promise.all(pools.map((db) => migrate(db)));
    const applied = reports.flatMap((r) => r.applied);
    expect(applied.sort()).toEqual(loadMigrations().map((m) => m.name).sort());
    const { rows } = await pools[0]!.query<{ n: number }>(`SELECT count(*)::int AS n FROM "_prisma_migrations"`);
    expect(rows[0]!.n).toBe(loadMigrations().length);
  });
});
