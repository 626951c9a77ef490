import { afterAll, describe, expect, it } from "vitest";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import type { ChildProcess } from "node:child_process";
import pg from "pg";
import { verifyDatabaseLog } from "../src/audit/verify-log.js";
import type { Database } from "../src/db/database.js";
import { openPostgres } from "../src/db/postgres.js";
import { EventStore } from "../src/eventstore/event-store.js";
import { chainHash, GENESIS_HASH } from "../src/eventstore/hash-chain.js";
import { readHead } from "../src/eventstore/log-reader.js";
import { SEALER_LOCK } from "../src/eventstore/sealer.js";
import { ANY_VERSION, type RecordedEvent } from "../src/eventstore/types.js";
import { verifyProjections } from "../src/projections/rebuild.js";
import { CreateKeyDocument, GetKeyDocument, KeysAsOfDocument, VerifyDocument } from "./generated/graphql.js";
import { clientFor } from "./support/clients.js";
import { backendName, createTestDatabase, createTestLocation, onPostgres, openAt } from "./support/databases.js";
import { repoRoot, servingUrl } from "./support/processes.js";
import { startTestServer, TEST_JWT_SECRET } from "./support/server.js";

const LONG = 240_000;

/** Every sealed event once, positions 1..N with no gap, one SHA-256 chain from genesis. */
async function expectOneDenseChain(store: EventStore): Promise<RecordedEvent[]> {
  const all = await store.readAll(0n, 10_000_000);
  let previous = GENESIS_HASH;
  all.forEach((event, index) => {
    expect(event.position).toBe(BigInt(index + 1));
    expect(event.hash).toBe(chainHash(previous, event));
    previous = event.hash;
  });
  expect(new Set(all.map((e) => e.eventId)).size).toBe(all.length);
  return all;
}

/** Rows written but not sealed yet. */
async function unsealed(db: Database): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM event_records r WHERE NOT EXISTS (SELECT 1 FROM event_seals s WHERE s.seq = r.seq)`,
  );
  return rows[0]!.n;
}

/** A server in one Node process (no tsx wrapper), so that kill -9 kills the server itself. */
function startServerProcess(databaseUrl: string): { child: ChildProcess; url: Promise<string> } {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: repoRoot,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", DATABASE_URL: databaseUrl, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: "warn" },
  });
  child.stdout!.resume();
  return { child, url: servingUrl(child) };
}

async function sealerHolder(db: Database): Promise<number | undefined> {
  const { rows } = await db.query<{ pid: number }>(
    `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [SEALER_LOCK],
  );
  return rows[0]?.pid;
}

describe(`the sealed log (${backendName})`, () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  });

  it("seals a transaction's events together, even across the cut of a cycle's batch", async () => {
    const { db, cleanup } = await createTestDatabase();
    cleanups.push(cleanup);
    const store = new EventStore(db, { sealBatch: 3 });
    const batches: string[][] = [];
    const stop = store.onSealed((events) => batches.push(events.map((e) => e.eventId)));
    const transactions: string[][] = [];
    await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const events = Array.from({ length: 2 + i }, (_, n) => ({ type: "Step", schemaVersion: 1, data: { n }, eventId: randomUUID() }));
        transactions.push(events.map((e) => e.eventId));
        await store.append(randomUUID(), 0, events);
      }),
    );
    stop();
    for (const ids of transactions) {
      const holding = batches.filter((batch) => ids.some((id) => batch.includes(id)));
      expect(holding).toHaveLength(1);
      expect(holding[0]).toEqual(expect.arrayContaining(ids));
    }
    await expectOneDenseChain(store);
    await store.close();
  });

  it.runIf(onPostgres)(
    "a long transaction holding a transaction id delays sealing, loses nothing, and the backlog drains after it",
    async () => {
      const { db, location, cleanup } = await createTestDatabase();
      cleanups.push(cleanup);
      const store = new EventStore(db);
      await store.append(randomUUID(), 0, [{ type: "Before", schemaVersion: 1, data: {} }]);

      // A read-only snapshot holds no transaction id: sealing goes on under it.
      const reader = new pg.Client({ connectionString: location.databaseUrl });
      await reader.connect();
      await reader.query("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM events");
      const [underRead] = await store.append(randomUUID(), 0, [{ type: "UnderRead", schemaVersion: 1, data: {} }]);
      expect(underRead!.position).toBe(2n);
      await reader.query("COMMIT");
      await reader.end();

      // One that wrote (a scratch table, say) holds the horizon back until it ends.
      const holder = new pg.Client({ connectionString: location.databaseUrl });
      await holder.connect();
      await holder.query("BEGIN; CREATE TEMP TABLE scratch (n int); SELECT pg_current_xact_id()");
      const stream = randomUUID();
      const facts = Array.from({ length: 50 }, (_, n) => ({
        streamId: stream,
        expectedVersion: ANY_VERSION,
        events: [{ type: "Held", schemaVersion: 1, data: { n } }],
        metadata: {},
      }));
      await store.appendFacts(facts);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect((await readHead(db)).position).toBe(2n);
      expect(await unsealed(db)).toBe(50);
      await holder.query("COMMIT");
      await holder.end();
      await expect.poll(async () => (await readHead(db)).position, { timeout: 30_000 }).toBe(52n);
      expect(await unsealed(db)).toBe(0);
      const all = await expectOneDenseChain(store);
      expect(all.filter((e) => e.type === "Held").map((e) => e.data.n)).toEqual(Array.from({ length: 50 }, (_, n) => n));
      await store.close();
    },
    LONG,
  );

  it.runIf(onPostgres)(
    "kill -9 of the sealing process under load: another takes over, nothing lost, no position reused or skipped, projections replay clean",
    async () => {
      const location = await createTestLocation();
      const db = await openAt(location);
      cleanups.push(async () => {
        await db.close();
        await location.drop();
      });
      const first = startServerProcess(location.databaseUrl!);
      const urlA = await first.url;
      await expect.poll(() => sealerHolder(db), { timeout: 30_000 }).toBeDefined();
      const holderA = await sealerHolder(db);
      const second = startServerProcess(location.databaseUrl!);
      cleanups.push(async () => void second.child.kill("SIGTERM"));
      const urlB = await second.url;
      const server = await startTestServer(location);
      cleanups.push(() => server.stop());
      expect(await sealerHolder(db)).toBe(holderA);

      const clients = await Promise.all([urlA, urlB, server.url].map((url) => clientFor(url, "alice")));
      const gateways = await Promise.all([urlA, urlB, server.url].map((url) => clientFor(url, "gw", ["gateway"])));
      const created = await clients[2]!.request(CreateKeyDocument, { input: { service: "SMS", name: "hot" } });
      const secret = created.createApiKey.secret;
      let running = true;
      let valid = 0;
      const load = [0, 1, 2].map(async (i) => {
        while (running) {
          try {
            await clients[i]!.request(CreateKeyDocument, { input: { service: "EMAIL", name: `k${i}` } });
            const verified = await gateways[i]!.request(VerifyDocument, { input: { key: secret, service: "SMS" } });
            if (verified.verifyApiKey.valid) valid++;
          } catch {
            if (i === 0) return; // the killed process's requests fail; the others' must not
            throw new Error("a request to a surviving process failed");
          }
        }
      });
      try {
        await expect.poll(() => valid, { timeout: 60_000 }).toBeGreaterThan(30);
        first.child.kill("SIGKILL");
        const killedAt = valid;
        await expect.poll(() => valid, { timeout: 60_000 }).toBeGreaterThan(killedAt + 30);
        await expect.poll(() => sealerHolder(db), { timeout: 10_000 }).not.toBe(holderA);
        expect(await sealerHolder(db)).toBeDefined();
      } finally {
        running = false;
        await Promise.allSettled(load);
      }
      await Promise.all(load);

      await expect.poll(() => unsealed(db), { timeout: 60_000 }).toBe(0);
      const store = new EventStore(db);
      const all = await expectOneDenseChain(store);
      const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM event_records`);
      expect(all.length).toBe(rows[0]!.n);
      expect((await verifyDatabaseLog(db)).ok).toBe(true);
      expect((await verifyProjections(db)).differences).toEqual([]);
      const { rows: usage } = await db.query<{ n: string }>(`SELECT usage_count::text AS n FROM api_keys WHERE name = 'hot'`);
      expect(BigInt(usage[0]!.n)).toBe(BigInt(all.filter((e) => e.type === "KeyUsed").length));
    },
    LONG,
  );

  it.runIf(onPostgres)(
    "read-your-writes: a key created on one process is read at once on another",
    async () => {
      const location = await createTestLocation();
      const other = startServerProcess(location.databaseUrl!);
      const urlOther = await other.url;
      const server = await startTestServer(location);
      cleanups.push(async () => {
        other.child.kill("SIGTERM");
        await server.stop();
        await location.drop();
      });
      const here = await clientFor(server.url, "alice");
      const there = await clientFor(urlOther, "alice");
      for (let n = 0; n < 10; n++) {
        const [writer, reader] = n % 2 === 0 ? [here, there] : [there, here];
        const created = await writer.request(CreateKeyDocument, { input: { service: "SMS", name: `ryw-${n}` } });
        const read = await reader.request(GetKeyDocument, { id: created.createApiKey.apiKey.id });
        expect(read.apiKey?.name).toBe(`ryw-${n}`);
      }
    },
    LONG,
  );

  it.runIf(onPostgres)(
    "a restore from a dump into another cluster, where transaction ids restart lower, hides no event",
    async () => {
      const pgbin = process.env.PGBIN ?? "/usr/lib/postgresql/15/bin";
      const started = execFileSync("scripts/pg-throwaway.sh", ["start"], { encoding: "utf8" });
      const target = { url: /DATABASE_URL=(\S+)/.exec(started)![1]!, dir: /KEYLEDGER_PG_DIR=(\S+)/.exec(started)![1]! };
      cleanups.push(async () => void execFileSync("scripts/pg-throwaway.sh", ["stop", target.dir]));

      const source = await createTestLocation();
      cleanups.push(() => source.drop());
      const server = await startTestServer(source);
      const alice = await clientFor(server.url, "alice");
      const gateway = await clientFor(server.url, "gw", ["gateway"]);
      const { secret, apiKey } = (await alice.request(CreateKeyDocument, { input: { service: "SMS", name: "restored" } })).createApiKey;
      const created = (await server.services.store.head()).position.toString();
      // Move the source's transaction ids well past where a fresh cluster starts.
      for (let n = 0; n < 1_500; n++) await server.services.db.query("SELECT pg_current_xact_id()");
      // Uses committed while a transaction holds the horizon: in the dump, but not yet sealed.
      const holder = new pg.Client({ connectionString: source.databaseUrl });
      await holder.connect();
      await holder.query("BEGIN; SELECT pg_current_xact_id()");
      for (let n = 0; n < 5; n++) await gateway.request(VerifyDocument, { input: { key: secret, service: "SMS" } });
      const dump = spawnSync(`${pgbin}/pg_dump`, ["--no-owner", source.databaseUrl!], { encoding: "utf8", maxBuffer: 1 << 28 });
      expect(dump.status).toBe(0);
      await holder.query("ROLLBACK");
      await holder.end();
      await server.stop();

      const targetUrl = new URL(target.url);
      targetUrl.pathname = "/restored";
      execFileSync(`${pgbin}/createdb`, [`--maintenance-db=${target.url}`, "restored"]);
      const restore = spawnSync(`${pgbin}/psql`, ["-q", "-v", "ON_ERROR_STOP=1", targetUrl.toString()], { input: dump.stdout, encoding: "utf8" });
      expect(restore.stderr).toBe("");
      const restoredDb = await openPostgres({ url: targetUrl.toString(), poolSize: 4 });
      const { rows: state } = await restoredDb.query<{ behind: boolean; pending: number }>(
        `SELECT pg_current_xact_id() < cursor_txid AS behind,
                (SELECT count(*)::int FROM event_records r WHERE NOT EXISTS (SELECT 1 FROM event_seals s WHERE s.seq = r.seq)) AS pending
           FROM log_seal`,
      );
      // The case that needs handling: ids restarted below the cursor, and the dump holds unsealed uses.
      expect(state[0]).toEqual({ behind: true, pending: 5 });
      await restoredDb.close();

      const restored = await startTestServer({ databaseUrl: targetUrl.toString(), dataDir: source.dataDir, drop: async () => {} });
      cleanups.push(() => restored.stop());
      const aliceThere = await clientFor(restored.url, "alice");
      const gatewayThere = await clientFor(restored.url, "gw", ["gateway"]);
      const after = (await aliceThere.request(CreateKeyDocument, { input: { service: "EMAIL", name: "after restore" } })).createApiKey;
      expect((await aliceThere.request(GetKeyDocument, { id: after.apiKey.id })).apiKey?.name).toBe("after restore");
      await gatewayThere.request(VerifyDocument, { input: { key: secret, service: "SMS" } });
      const db = restored.services.db;
      await expect.poll(() => unsealed(db), { timeout: 30_000 }).toBe(0);
      const all = await expectOneDenseChain(restored.services.store);
      expect(all.filter((e) => e.type === "KeyUsed")).toHaveLength(6);
      expect((await verifyProjections(db)).differences).toEqual([]);
      expect((await aliceThere.request(GetKeyDocument, { id: apiKey.id })).apiKey?.name).toBe("restored");
      const { rows } = await db.query<{ n: string }>(`SELECT usage_count::text AS n FROM api_keys WHERE name = 'restored'`);
      expect(rows[0]?.n).toBe("6");
      // Time travel across the re-base (positions no longer follow transaction ids there).
      const table = async (asOf: string) =>
        (await aliceThere.request(KeysAsOfDocument, { asOf })).apiKeys.edges.map((e) => [e.node.name, String(e.node.usageCount)]);
      expect(await table(created)).toEqual([["restored", "0"]]);
      expect(await table((await restored.services.store.head()).position.toString())).toEqual([
        ["after restore", "0"],
        ["restored", "6"],
      ]);
    },
    LONG,
  );
});
