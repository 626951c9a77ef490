import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import type { Database } from "../src/db/database.js";
import { openPostgres } from "../src/db/postgres.js";
import { EventStore } from "../src/eventstore/event-store.js";
import { chainHash } from "../src/eventstore/hash-chain.js";
import type { RecordedEvent } from "../src/eventstore/types.js";
import { backendName, createTestDatabase, onPostgres, type TestDatabaseLocation } from "./support/databases.js";
import { runTs } from "./support/processes.js";

/** Tails readAll like a subscriber: polls "after the last position seen" until `stop()` says so. */
function tail(store: EventStore) {
  const seen: RecordedEvent[] = [];
  let stopped = false;
  const running = (async () => {
    let after = 0n;
    for (;;) {
      const page = await store.readAll(after, 200);
      seen.push(...page);
      if (page.length > 0) after = page.at(-1)!.position;
      else if (stopped) return;
      else await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  return { seen, stop: () => ((stopped = true), running) };
}

function expectExactlyOnceInOrder(seen: RecordedEvent[], committed: RecordedEvent[]): void {
  const positions = seen.map((e) => e.position);
  for (let i = 1; i < positions.length; i++) expect(positions[i]! > positions[i - 1]!).toBe(true);
  expect(new Set(seen.map((e) => e.eventId)).size).toBe(seen.length);
  expect(seen.map((e) => e.eventId).sort()).toEqual(committed.map((e) => e.eventId).sort());
}

describe(`readAll under concurrent writers (${backendName})`, () => {
  let db: Database;
  let location: TestDatabaseLocation;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ db, location, cleanup } = await createTestDatabase());
  });
  afterAll(() => cleanup());

  it("a tailing reader sees every event of many concurrent in-process appends exactly once, in order", async () => {
    const store = new EventStore(db);
    const reader = tail(store);
    // 100 appends in flight at a time, far more than the pool's connections: all 1,500 at once would
    // leave the last ones waiting on the pool past its connect timeout on a loaded CI machine.
    const numbers = Array.from({ length: 1500 }, (_, n) => n);
    const appender = async () => {
      for (let n = numbers.shift(); n !== undefined; n = numbers.shift()) {
        await store.append(randomUUID(), 0, [{ type: "Written", schemaVersion: 1, data: { n } }]);
      }
    };
    await Promise.all(Array.from({ length: 100 }, appender));
    await reader.stop();
    expectExactlyOnceInOrder(reader.seen, await store.readAll(0n, 1_000_000));
    expect(reader.seen.length).toBeGreaterThanOrEqual(1500);
  });

  it.runIf(onPostgres)(
    "two writer processes and two extra pools append thousands of events while a reader tails: none skipped or repeated",
    async () => {
      const url = location.databaseUrl!;
      const store = new EventStore(db);
      const start = (await store.head()).position;
      const reader = tail(store);
      const writers = ["proc-a", "proc-b"].map((prefix) =>
        runTs("tests/support/append-writer.ts", [url, `${prefix}-${randomUUID()}`, "1500", "8"]),
      );
      const pools = await Promise.all([1, 2].map(() => openPostgres({ url, poolSize: 6 })));
      const inProcess = pools.map(async (pool, p) => {
        const poolStore = new EventStore(pool);
        let n = 0;
        await Promise.all(
          Array.from({ length: 6 }, async () => {
            while (n < 500) {
              const i = n++;
              await poolStore.append(`pool-${p}-${i}-${randomUUID()}`, 0, [{ type: "Written", schemaVersion: 1, data: { i } }]);
            }
          }),
        );
      });
      const results = await Promise.all(writers.map((w) => w.done));
      await Promise.all(inProcess);
      await Promise.all(pools.map((pool) => pool.close()));
      for (const result of results) {
        expect(result.stderr).toBe("");
        expect(result.code).toBe(0);
        expect(JSON.parse(result.stdout)).toEqual({ committed: 1500 });
      }
      await reader.stop();
      const committed = (await store.readAll(0n, 1_000_000)).filter((e) => e.position > start);
      expect(committed).toHaveLength(4000);
      expectExactlyOnceInOrder(
        reader.seen.filter((e) => e.position > start),
        committed,
      );
    },
  );

  it.runIf(onPostgres)(
    "three writer processes append while a reader tails readAll: every event once, in order, dense, one chain",
    async () => {
      const store = new EventStore(db);
      const start = await store.head();
      const reader = tail(store);
      const writers = ["w1", "w2", "w3"].map((prefix) =>
        runTs("tests/support/append-writer.ts", [location.databaseUrl!, `${prefix}-${randomUUID()}`, "600", "6"]),
      );
      const results = await Promise.all(writers.map((w) => w.done));
      for (const result of results) {
        expect(result.stderr).toBe("");
        expect(JSON.parse(result.stdout)).toEqual({ committed: 600 });
      }
      await expect.poll(() => reader.seen.filter((e) => e.position > start.position).length, { timeout: 60_000 }).toBe(1800);
      await reader.stop();
      const written = await store.readAll(start.position, 1_000_000);
      expect(written).toHaveLength(1800);
      let previous = start.hash;
      written.forEach((event, index) => {
        expect(event.position).toBe(start.position + BigInt(index + 1));
        expect(event.hash).toBe(chainHash(previous, event));
        previous = event.hash;
      });
      expectExactlyOnceInOrder(reader.seen.filter((e) => e.position > start.position), written);
    },
    240_000,
  );
});
