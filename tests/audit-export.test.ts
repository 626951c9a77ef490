import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { finished } from "node:stream/promises";
import type { Viewer } from "../src/auth/viewer.js";
import { signCheckpoint } from "../src/audit/checkpoints.js";
import { exportCheckpointsNdjson, exportNdjson, ownerStreamIds, type ExportOptions } from "../src/audit/export.js";
import { readCheckpointsFromNdjson } from "../src/audit/ndjson.js";
import { jwks, loadOrCreateSigningKey, type SigningKey } from "../src/audit/signing.js";
import { readLogFromNdjson, verifyDatabaseLog, verifyLog, type LogVerification } from "../src/audit/verify-log.js";
import { ApiKeyCommands, type Caller } from "../src/commands/api-keys.js";
import type { Database, SqlClient } from "../src/db/database.js";
import { migrate } from "../src/db/migrator.js";
import { EventStore } from "../src/eventstore/event-store.js";
import { readLogPage } from "../src/eventstore/log-reader.js";
import { ANY_VERSION, type RecordedEvent } from "../src/eventstore/types.js";
import { projections } from "../src/projections/index.js";
import { toArray } from "./support/iterables.js";
import { whileTampered } from "./support/tampering.js";
import { backendName, createTestDatabase, createTestLocation, openAt, type TestDatabaseLocation } from "./support/databases.js";
import { runTs } from "./support/processes.js";

const EVENT_FIELDS = ["data", "eventId", "hash", "metadata", "occurredAt", "position", "schemaVersion", "streamId", "streamVersion", "type"];

const caller = (userId: string): Caller => ({ viewer: { userId, roles: new Set(["owner"]) } as Viewer, requestId: randomUUID() });

describe(`exporting the log (${backendName})`, () => {
  let db: Database;
  let store: EventStore;
  let key: SigningKey;
  let cleanup: () => Promise<void>;
  let dir: string;
  let aliceKeys: string[];
  let bobKeys: string[];
  let file = 0;
  const tempFile = () => join(dir, `export-${++file}.ndjson`);

  async function exportToFile(sql: SqlClient, after = 0n, options: ExportOptions = {}): Promise<string> {
    const path = tempFile();
    const out = createWriteStream(path);
    await exportNdjson(sql, after, out, options);
    out.end();
    await finished(out);
    return path;
  }

  async function checkpointsToFile(sql: SqlClient): Promise<string> {
    const path = tempFile();
    const out = createWriteStream(path);
    await exportCheckpointsNdjson(sql, out);
    out.end();
    await finished(out);
    return path;
  }

  const lines = (path: string) => readFileSync(path, "utf8").split("\n").filter((line) => line !== "");

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "keyledger-export-"));
    ({ db, cleanup } = await createTestDatabase());
    store = new EventStore(db, projections);
    key = await loadOrCreateSigningKey(db, {});
    const commands = new ApiKeyCommands(store);
    const created: Array<{ owner: string; keyId: string }> = [];
    for (const owner of ["alice", "bob", "alice", "bob", "alice"]) {
      const { keyId } = await commands.create(caller(owner), { service: "SMS", name: `${owner}'s key`, description: "d" });
      created.push({ owner, keyId });
    }
    await signCheckpoint(db, key);
    const [first, second, third] = created;
    await commands.setStatus(caller(first!.owner), first!.keyId, "INACTIVE");
    await commands.update(caller(second!.owner), second!.keyId, { name: "renamed ✓ \"quoted\"", description: null });
    await commands.revoke(caller(third!.owner), third!.keyId, "leaked");
    for (const { keyId } of created) {
      const uses = Array.from({ length: 30 }, (_, i) => ({
        type: "KeyUsed",
        schemaVersion: 1,
        data: { keyId, service: "SMS", usedAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(), gatewayId: "gw-1" },
      }));
      await store.append(keyId, ANY_VERSION, uses, { actorId: "gw-1", actorRole: "gateway" });
    }
    await signCheckpoint(db, key);
    // A payload with everything JSON can carry, outside any owner's keys.
    await store.append(randomUUID(), 0, [
      { type: "Note", schemaVersion: 2, data: { s: "é \u2028 \t 😀 \\", n: -1.5e-7, big: 12345678901234, nested: { b: [1, null, true, {}] } } },
    ]);
    aliceKeys = await ownerStreamIds(db, "alice");
    bobKeys = await ownerStreamIds(db, "bob");
  });
  afterAll(async () => {
    await cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes one JSON object per event, in position order, with the position as a string", async () => {
    const head = await store.head();
    const exported = lines(await exportToFile(db)).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(exported).toHaveLength(Number(head.position));
    expect(exported.map((e) => e.position)).toEqual(Array.from({ length: exported.length }, (_, i) => String(i + 1)));
    for (const e of exported) expect(Object.keys(e).sort()).toEqual(EVENT_FIELDS);
    expect(exported.at(-1)!.hash).toBe(head.hash);
    expect(exported.at(-1)!.occurredAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it("reads back exactly the events in the database", async () => {
    const fromFile = await toArray(readLogFromNdjson(await exportToFile(db)));
    const fromDatabase: RecordedEvent[] = await readLogPage(db, 0n, 100_000);
    expect(fromFile).toEqual(fromDatabase);
    expect(typeof fromFile[0]!.position).toBe("bigint");
    expect(fromFile[0]!.occurredAt).toBeInstanceOf(Date);
  });

  it.each([
    ["an untouched log", async () => {}, true],
    ["an altered event", (tx: SqlClient) => tx.query(`UPDATE events SET data = data || '{"x": 1}'::jsonb WHERE position = 9`), false],
    ["a deleted event", (tx: SqlClient) => tx.query(`DELETE FROM events WHERE position = 40`), false],
    ["a truncated log", (tx: SqlClient) => tx.query(`DELETE FROM events WHERE position > 3`), false],
    ["a forged checkpoint", (tx: SqlClient) => tx.query(`UPDATE checkpoints SET jws = jws || 'x'`), false],
  ])("verifies %s the same from an export as from the database", async (_case, tamper, ok) => {
    const [fromDatabase, fromFile] = await whileTampered(db, tamper, async (tx): Promise<[LogVerification, LogVerification]> => {
      const events = await exportToFile(tx);
      const checkpoints = await checkpointsToFile(tx);
      const keys = await jwks(tx);
      return [await verifyDatabaseLog(tx), await verifyLog(readLogFromNdjson(events), readCheckpointsFromNdjson(checkpoints), keys)];
    });
    expect(fromDatabase.ok).toBe(ok);
    expect(fromFile).toEqual(fromDatabase);
  });

  it("exports from a position onwards, which verifies from that position's hash", async () => {
    const [tenth] = await readLogPage(db, 9n, 1);
    const path = await exportToFile(db, 10n);
    const exported = lines(path);
    expect(JSON.parse(exported[0]!).position).toBe("11");
    expect(BigInt(exported.length)).toBe((await store.head()).position - 10n);
    const anchored = await verifyLog(readLogFromNdjson(path), [], { keys: [] }, { start: { position: 10n, hash: tenth!.hash } });
    expect(anchored).toMatchObject({ ok: true, eventsChecked: String(exported.length) });
  });

  it("gives an owner the events of their own keys and of no one else's", async () => {
    expect(aliceKeys).toHaveLength(3);
    const exported = lines(await exportToFile(db, 0n, { filter: { streamIds: aliceKeys } })).map((l) => JSON.parse(l) as { streamId: string; type: string });
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE stream_id = ANY($1::text[])`, [aliceKeys]);
    expect(exported).toHaveLength(rows[0]!.n);
    expect(new Set(exported.map((e) => e.streamId))).toEqual(new Set(aliceKeys));
    expect(exported.some((e) => bobKeys.includes(e.streamId))).toBe(false);
    expect(exported.map((e) => e.type)).toEqual(expect.arrayContaining(["KeyCreated", "KeyToggled", "KeyRevoked", "KeyUsed"]));

    expect(await ownerStreamIds(db, "nobody")).toEqual([]);
    expect(readFileSync(await exportToFile(db, 0n, { filter: { streamIds: [] } }), "utf8")).toBe("");
  });

  it("reads no further ahead than a slow writer drains", async () => {
    let queries = 0;
    const counting: SqlClient = {
      query: (text, params) => {
        queries++;
        return db.query(text, params);
      },
      exec: (script) => db.exec(script),
    };
    const held: Array<() => void> = [];
    let received = "";
    const slow = new Writable({
      highWaterMark: 64,
      write(chunk: Buffer, _encoding, done) {
        received += chunk.toString();
        held.push(done);
      },
    });
    const running = exportNdjson(counting, 0n, slow, { pageSize: 5 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const head = await store.head();
    const pages = Number(head.position) / 5;
    expect(pages).toBeGreaterThan(25);
    expect(queries).toBeLessThan(10); // the head, then a few pages buffered ahead
    const release = setInterval(() => held.splice(0).forEach((done) => done()), 1);
    const result = await running;
    clearInterval(release);
    expect(result).toEqual({ eventsWritten: head.position, lastPosition: head.position });
    expect(received.split("\n").filter(Boolean)).toHaveLength(Number(head.position));
  });
});

describe(`npm run export and npm run audit:verify (${backendName})`, () => {
  let location: TestDatabaseLocation;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "keyledger-export-cli-"));
    location = await createTestLocation();
    env = { DATABASE_URL: location.databaseUrl ?? "", DATA_DIR: location.dataDir, NODE_ENV: "test" };
    const db = await openAt(location);
    try {
      await migrate(db);
      const store = new EventStore(db);
      const key = await loadOrCreateSigningKey(db, {});
      for (let n = 0; n < 5; n++) await store.append(randomUUID(), 0, [{ type: "Opened", schemaVersion: 1, data: { n } }]);
      await signCheckpoint(db, key);
      await store.append(randomUUID(), 0, [{ type: "Opened", schemaVersion: 1, data: { n: 5 } }]);
    } finally {
      await db.close(); // embedded PGlite: the scripts need the folder to themselves
    }
  });
  afterAll(async () => {
    await location.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = async (script: string, args: string[]) => {
    const finished = await runTs(script, args, env).done;
    return { ...finished, json: finished.stdout.trim() ? (JSON.parse(finished.stdout) as LogVerification) : undefined };
  };

  it("exports, and verifies the database and the export alike", async () => {
    const [events, checkpoints, keys] = ["events.ndjson", "checkpoints.ndjson", "jwks.json"].map((name) => join(dir, name)) as [string, string, string];
    const exported = await run("scripts/export.ts", ["--out", events, "--checkpoints-out", checkpoints, "--jwks-out", keys]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(readFileSync(events, "utf8").trim().split("\n")).toHaveLength(6);

    const expected = { ok: true, eventsChecked: "6", checkpointsChecked: "1", firstBadPosition: null, reason: null };
    const fromDatabase = await run("scripts/audit-verify.ts", []);
    expect(fromDatabase.code, fromDatabase.stderr).toBe(0);
    expect(fromDatabase.json).toMatchObject(expected);
    const fromFile = await run("scripts/audit-verify.ts", ["--from-file", events, "--checkpoints", checkpoints, "--jwks", keys]);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(fromFile.json).toEqual(fromDatabase.json);

    const linksOnly = await run("scripts/audit-verify.ts", ["--from-file", events]);
    expect(linksOnly.code).toBe(0);
    expect(linksOnly.json).toMatchObject({ ok: true, eventsChecked: "6", checkpointsChecked: "0" });
    expect(linksOnly.stderr).toMatch(/links only/);

    const tampered = readFileSync(events, "utf8").replace('"data":{"n":1}', '"data":{"n":100}');
    writeFileSync(events, tampered);
    const altered = await run("scripts/audit-verify.ts", ["--from-file", events, "--checkpoints", checkpoints, "--jwks", keys]);
    expect(altered.code).toBe(1);
    expect(altered.json).toMatchObject({ ok: false, firstBadPosition: "2" });

    writeFileSync(events, "not json\n");
    const unreadable = await run("scripts/audit-verify.ts", ["--from-file", events]);
    expect(unreadable.code).toBe(2);
    expect(unreadable.stderr).toMatch(/events\.ndjson:1: not valid JSON/);
  });
});
