import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import type { Database, SqlClient } from "../src/db/database.js";
import { ConcurrencyError } from "../src/eventstore/errors.js";
import { EventStore } from "../src/eventstore/event-store.js";
import type { WriterProjectionHook } from "../src/eventstore/projection-hook.js";
import { chainHash, GENESIS_HASH } from "../src/eventstore/hash-chain.js";
import { ANY_VERSION, type PendingEvent } from "../src/eventstore/types.js";
import { openPostgres } from "../src/db/postgres.js";
import { backendName, createTestDatabase, onPostgres, type TestDatabaseLocation } from "./support/databases.js";

const event = (type: string, data: Record<string, unknown> = {}) => ({ type, schemaVersion: 1, data });

/** A writer projection counting each stream's events in test_counts; "Ignored" events change nothing. */
const countingProjection = (): WriterProjectionHook =>
  Object.assign(
    async (tx: SqlClient, events: readonly PendingEvent[]) => {
      for (const e of events) {
        await tx.query(`INSERT INTO test_counts VALUES ($1, 1) ON CONFLICT (stream_id) DO UPDATE SET n = test_counts.n + 1`, [e.streamId]);
      }
    },
    { changes: (events: readonly PendingEvent[]) => events.some((e) => e.type !== "Ignored") },
  );

describe(`event store (${backendName})`, () => {
  let db: Database;
  let store: EventStore;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ db, cleanup } = await createTestDatabase());
    store = new EventStore(db);
  });
  afterAll(() => cleanup());

  it("appends to a new stream and reads it back in order with versions and metadata", async () => {
    const stream = randomUUID();
    await store.append(stream, 0, [event("Opened", { n: 1 })], { actorId: "alice", actorRole: "owner" });
    await store.append(stream, 1, [event("Renamed", { name: "é \"quoted\" {}" }), event("Closed")]);
    const read = await store.readStream(stream);
    expect(read.map((e) => [e.type, e.streamVersion])).toEqual([
      ["Opened", 1],
      ["Renamed", 2],
      ["Closed", 3],
    ]);
    expect(read[0]!.metadata).toEqual({ actorId: "alice", actorRole: "owner" });
    expect(read[1]!.data).toEqual({ name: 'é "quoted" {}' });
    expect(read[1]!.position).toBe(read[0]!.position + 1n);
  });

  it("lets exactly one of two concurrent appends at the same expected version win, leaving no hole", async () => {
    const stream = randomUUID();
    await store.append(stream, 0, [event("Opened")]);
    const results = await Promise.allSettled([
      store.append(stream, 1, [event("A")]),
      store.append(stream, 1, [event("B")]),
    ]);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toBeInstanceOf(ConcurrencyError);
    const versions = (await store.readStream(stream)).map((e) => e.streamVersion);
    expect(versions).toEqual([1, 2]);
  });

  it("rejects a stale or a future expected version and writes nothing", async () => {
    const stream = randomUUID();
    await store.append(stream, 0, [event("Opened"), event("Changed")]);
    const before = await store.head();
    await expect(store.append(stream, 1, [event("Stale")])).rejects.toBeInstanceOf(ConcurrencyError);
    await expect(store.append(stream, 5, [event("Future")])).rejects.toBeInstanceOf(ConcurrencyError);
    await expect(store.append(stream, 0, [event("Again")])).rejects.toMatchObject({ actualVersion: 2 });
    expect(await store.head()).toEqual(before);
  });

  it("appends facts with ANY_VERSION concurrently without conflicts, outside the stream's versions", async () => {
    const stream = randomUUID();
    await store.append(stream, 0, [event("Opened")]);
    await Promise.all(Array.from({ length: 25 }, () => store.append(stream, ANY_VERSION, [event("Used")])));
    const read = await store.readStream(stream);
    expect(read).toHaveLength(26);
    expect(read.filter((e) => e.type === "Used").every((e) => e.streamVersion === null)).toBe(true);
    // A decision on version 1 still succeeds: facts do not move the stream's version.
    await store.append(stream, 1, [event("Closed")]);
  });

  it("writes an event id once, however often the append is retried", async () => {
    const stream = randomUUID();
    const eventId = randomUUID();
    const first = await store.append(stream, 0, [{ ...event("Opened"), eventId }]);
    const retried = await store.append(stream, 0, [{ ...event("Opened"), eventId }]);
    expect(retried[0]!.position).toBe(first[0]!.position);
    const factId = randomUUID();
    await store.append(stream, ANY_VERSION, [{ ...event("Used"), eventId: factId }]);
    await store.append(stream, ANY_VERSION, [{ ...event("Used"), eventId: factId }]);
    expect(await store.readStream(stream)).toHaveLength(2);
  });

  it("rolls back the events when a writer's projection fails", async () => {
    const failing: WriterProjectionHook = Object.assign(
      async (_tx: SqlClient, events: readonly PendingEvent[]) => {
        if (events.some((e) => e.type === "Poison")) throw new Error("projection failed");
      },
      { changes: () => true },
    );
    const guarded = new EventStore(db, { projectWriter: failing });
    const stream = randomUUID();
    const before = await store.head();
    await expect(guarded.append(stream, 0, [event("Fine"), event("Poison")])).rejects.toThrow("projection failed");
    expect(await store.readStream(stream)).toEqual([]);
    expect(await store.head()).toEqual(before);
    await guarded.append(stream, 0, [event("Fine")]);
    expect(await store.readStream(stream)).toHaveLength(1);
  });

  it("runs a writer's projection in the append's transaction, seeing the new events", async () => {
    await db.exec("CREATE TABLE IF NOT EXISTS test_counts (stream_id text PRIMARY KEY, n int NOT NULL)");
    const counting = countingProjection();
    const projected = new EventStore(db, { projectWriter: counting });
    const stream = randomUUID();
    await projected.append(stream, 0, [event("A"), event("B")]);
    const { rows } = await db.query<{ n: number }>("SELECT n FROM test_counts WHERE stream_id = $1", [stream]);
    expect(rows[0]?.n).toBe(2);
  });

  it("appends facts that change nothing a writer keeps in one statement, and facts that do in a transaction with the writer's projection", async () => {
    await db.exec("CREATE TABLE IF NOT EXISTS test_counts (stream_id text PRIMARY KEY, n int NOT NULL)");
    const counting = countingProjection();
    const projected = new EventStore(db, { projectWriter: counting });
    const [quiet, counted] = [randomUUID(), randomUUID()];
    const fact = (streamId: string, type: string) => ({ streamId, expectedVersion: ANY_VERSION, events: [{ ...event(type), eventId: randomUUID() }], metadata: {} });
    await projected.appendFacts([fact(quiet, "Ignored"), fact(quiet, "Ignored")]);
    await projected.appendFacts([fact(counted, "Ignored"), fact(counted, "Counted")]);
    const counts = await db.query<{ stream_id: string; n: number }>("SELECT stream_id, n FROM test_counts WHERE stream_id = ANY($1::text[])", [[quiet, counted]]);
    expect(counts.rows).toEqual([{ stream_id: counted, n: 2 }]);
    // Both are durable when appendFacts answers, and sealed in order with everything else.
    expect((await store.readStream(quiet)).map((e) => e.type)).toEqual(["Ignored", "Ignored"]);
    expect((await store.readStream(counted)).map((e) => e.type)).toEqual(["Ignored", "Counted"]);
    const all = await store.readAll(0n, 100_000);
    expect(all.map((e) => Number(e.position))).toEqual(all.map((_, index) => index + 1));
  });

  it("binds every event into one SHA-256 chain in position order", async () => {
    const all = await store.readAll(0n, 100_000);
    expect(all.length).toBeGreaterThan(10);
    let previous = GENESIS_HASH;
    all.forEach((e, index) => {
      expect(e.position).toBe(BigInt(index + 1));
      expect(e.hash).toBe(chainHash(previous, e));
      previous = e.hash;
    });
  });

  it("pages through readAll without skipping or repeating", async () => {
    const head = await store.head();
    const seen: bigint[] = [];
    let after = 0n;
    for (;;) {
      const page = await store.readAll(after, 7);
      if (page.length === 0) break;
      seen.push(...page.map((e) => e.position));
      after = page.at(-1)!.position;
    }
    expect(seen).toEqual(Array.from({ length: Number(head.position) }, (_, i) => BigInt(i + 1)));
  });

  it("wakes listeners when events are committed", async () => {
    const woken: Array<bigint | undefined> = [];
    const unlisten = await store.onAppend((position) => woken.push(position));
    const [recorded] = await store.append(randomUUID(), 0, [event("Opened")]);
    await expect.poll(() => woken, { timeout: 5_000 }).toContain(recorded!.position);
    await unlisten();
  });
});

describe.runIf(onPostgres)("statements on PostgreSQL", () => {
  let db: Database;
  let location: TestDatabaseLocation;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ db, location, cleanup } = await createTestDatabase());
  });
  afterAll(() => cleanup());

  it("are prepared once per connection and reused: the store's hot statements are not parsed and planned on every call", async () => {
    const session = await db.openSession({ applicationName: "prepared-statements-test", idleInTransactionTimeoutMs: 10_000 });
    try {
      const text = "SELECT $1::int + 1 AS n";
      expect((await session.query<{ n: number }>(text, [1])).rows[0]!.n).toBe(2);
      expect((await session.query<{ n: number }>(text, [41])).rows[0]!.n).toBe(42);
      const prepared = await session.query<{ statement: string }>("SELECT statement FROM pg_prepared_statements WHERE statement = $1", [text]);
      expect(prepared.rows).toHaveLength(1);
      // A text with several statements and no parameters still runs (simple protocol, unnamed).
      await session.query("SELECT 1; SELECT 2");
      // A prepared statement that fails keeps its typed error and leaves the connection usable.
      await expect(session.query("SELECT 1 / $1::int AS n", [0])).rejects.toThrow(/division by zero/);
      expect((await session.query<{ n: number }>("SELECT 1 / $1::int AS n", [1])).rows[0]!.n).toBe(1);
    } finally {
      await session.close();
    }
  });

  it("survive a value the driver cannot convert: the call fails alone, the statement stays usable on its connection", async () => {
    const session = await db.openSession({ applicationName: "prepared-statements-test", idleInTransactionTimeoutMs: 10_000 });
    try {
      const text = "SELECT ($1::jsonb ->> 'a')::int AS a";
      expect((await session.query<{ a: number }>(text, [{ a: 1 }])).rows[0]!.a).toBe(1);
      await expect(session.query(text, [{ a: 1n }])).rejects.toThrow(/BigInt/);
      expect((await session.query<{ a: number }>(text, [{ a: 2 }])).rows[0]!.a).toBe(2);
    } finally {
      await session.close();
    }
  });

  it("leave no connection failing after another process changes a column they return: it is replaced", async () => {
    const table = `plan_change_${randomUUID().slice(0, 8)}`;
    await db.exec(`CREATE TABLE ${table} (id int PRIMARY KEY, v int); INSERT INTO ${table} VALUES (1, 7)`);
    const single = await openPostgres({ url: location.databaseUrl!, poolSize: 1 });
    try {
      const read = () => single.transaction(async (tx) => (await tx.query<{ v: unknown }>(`SELECT id, v FROM ${table} WHERE id = $1`, [1])).rows[0]!.v);
      expect(await read()).toBe(7);
      await db.exec(`ALTER TABLE ${table} ALTER COLUMN v TYPE text`);
      // The connection that prepared it fails once (PostgreSQL refuses to change a prepared result)…
      await expect(read()).rejects.toThrow(/cached plan must not change result type/);
      // …and is not given out again: the next transaction runs on a new one.
      expect(await read()).toBe("7");
    } finally {
      await single.close();
    }
  });

  it("run unnamed with preparedStatements off (DB_PREPARED_STATEMENTS=false), for a pooler in transaction mode", async () => {
    const unprepared = await openPostgres({ url: location.databaseUrl!, poolSize: 1, preparedStatements: false });
    try {
      const text = "SELECT $1::int * 2 AS n";
      await unprepared.transaction(async (tx) => {
        expect((await tx.query<{ n: number }>(text, [21])).rows[0]!.n).toBe(42);
        expect((await tx.query<{ n: number }>(text, [2])).rows[0]!.n).toBe(4);
        expect((await tx.query("SELECT statement FROM pg_prepared_statements", [])).rows).toEqual([]);
      });
    } finally {
      await unprepared.close();
    }
  });
});
