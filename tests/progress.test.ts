import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiKeyCommands } from "../src/commands/api-keys.js";
import { EventStore } from "../src/eventstore/event-store.js";
import { ANY_VERSION } from "../src/eventstore/types.js";
import { projections } from "../src/projections/index.js";
import { backendName, createTestDatabase, type TestDatabaseLocation } from "./support/databases.js";
import { runTs } from "./support/processes.js";

describe(`progress of the long commands when not on a terminal (${backendName})`, () => {
  let location: TestDatabaseLocation;
  let drop: () => Promise<void>;
  const folder = mkdtempSync(join(tmpdir(), "keyledger-progress-"));
  const events = 41;

  beforeAll(async () => {
    const test = await createTestDatabase();
    location = test.location;
    drop = () => location.drop();
    const store = new EventStore(test.db, projections);
    const caller = { viewer: { userId: "alice", roles: new Set(["owner"] as const) }, requestId: "progress" };
    const { keyId } = await new ApiKeyCommands(store).create(caller, { service: "SMS", name: "progress" });
    const now = new Date();
    await store.appendMany(
      Array.from({ length: events - 1 }, () => ({
        streamId: keyId,
        expectedVersion: ANY_VERSION,
        events: [{ type: "KeyUsed", schemaVersion: 1, data: { keyId, service: "SMS", usedAt: now.toISOString(), gatewayId: "gw" }, occurredAt: now }],
        metadata: { actorId: "gw", actorRole: "gateway" },
      })),
    );
    await test.db.close(); // PGlite: one process owns the folder, and the scripts run in their own
  }, 180_000);
  afterAll(async () => {
    await drop?.();
    rmSync(folder, { recursive: true, force: true });
  });

  const run = (script: string, args: string[]) =>
    runTs(script, args, { DATABASE_URL: location.databaseUrl ?? "", DATA_DIR: location.dataDir, PROGRESS_INTERVAL_MS: "0", LOG_LEVEL: "warn" }).done;

  it("logs lines with counts, rate and ETA for export, audit:verify and replay, from the database and from a file", async () => {
    const file = join(folder, "log.ndjson");
    const exported = await run("scripts/export.ts", ["--out", file]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toMatch(/^export: \d+\/41 events \(\d+%\), \d+\/s, ETA \S+$/m);
    expect(exported.stderr).toMatch(/^export: 41\/41 events \(100%\), \d+\/s, done in \S+$/m);

    for (const [script, args, label] of [
      ["scripts/audit-verify.ts", [], "audit:verify"],
      ["scripts/audit-verify.ts", ["--from-file", file], "audit:verify"],
      ["scripts/replay.ts", ["--verify"], "replay --verify"],
      ["scripts/replay.ts", ["--from-file", file], "replay"],
      ["scripts/replay.ts", ["--rebuild"], "rebuild"],
    ] as const) {
      const { code, stderr, stdout } = await run(script, [...args]);
      expect(code, `${script} ${args.join(" ")}: ${stderr}`).toBe(0);
      expect(stderr).toContain(`${label}: 41/41 events (100%)`);
      // Progress goes to stderr only: stdout stays the command's JSON result.
      expect(() => JSON.parse(stdout)).not.toThrow();
    }
  }, 300_000);
});
