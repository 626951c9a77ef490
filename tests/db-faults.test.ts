import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { verifyDatabaseLog } from "../src/audit/verify-log.js";
import type { Database } from "../src/db/database.js";
import { openPostgres } from "../src/db/postgres.js";
import { EventStore } from "../src/eventstore/event-store.js";
import { projections } from "../src/projections/index.js";
import { CreateKeyDocument, OnEventsDocument } from "./generated/graphql.js";
import { clientFor, tokenFor } from "./support/clients.js";
import { createTestLocation, onPostgres, openAt, type TestDatabaseLocation } from "./support/databases.js";
import { createLoop, newTally, rawKeyId, totalValid, verifyLoop, type Tally } from "./support/load.js";
import { startOwnCluster, type OwnCluster } from "./support/pg-cluster.js";
import { repoRoot, runTs, servingUrl } from "./support/processes.js";
import { TEST_JWT_SECRET } from "./support/server.js";
import { collect, wsClient } from "./support/subscriptions.js";

/** Every server a test started, so none outlives a failed test. */
const spawned: ChildProcess[] = [];
afterAll(() => {
  for (const child of spawned) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

/**
 * The server as one Node process (tsx loaded with --import, not the tsx wrapper that spawns a child):
 * SIGKILL must reach the server itself.
 */
function spawnServer(env: Record<string, string>): { child: ChildProcess; url: Promise<string>; output: () => string } {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    stdio: ["ignore", "pipe", "pipe"],
    cwd: repoRoot,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: "warn", ...env },
  });
  spawned.push(child);
  let output = "";
  child.stderr!.on("data", (chunk) => (output += chunk));
  child.stdout!.on("data", (chunk) => (output += chunk));
  return { child, url: servingUrl(child), output: () => output };
}

const exited = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())));

async function createKeys(url: string, owner: string, n: number): Promise<Array<{ secret: string; keyId: string }>> {
  const client = await clientFor(url, owner);
  const keys = [];
  for (let i = 0; i < n; i++) {
    const { secret, apiKey } = (await client.request(CreateKeyDocument, { input: { service: "SMS", name: `k${i}` } })).createApiKey;
    keys.push({ secret, keyId: rawKeyId(apiKey.id) });
  }
  return keys;
}

interface Accounting {
  keyUsed: Map<string, number>;
  usageCount: Map<string, number>;
  keyCreatedBy(owner: string): Promise<number>;
  chainOk: boolean;
  head: number;
}

async function accountingOf(db: Database): Promise<Accounting> {
  const used = await db.query<{ stream_id: string; n: number }>(`SELECT stream_id, count(*)::int AS n FROM events WHERE type = 'KeyUsed' GROUP BY 1`);
  const usage = await db.query<{ id: string; n: number }>(`SELECT id, usage_count::int AS n FROM api_keys`);
  const head = await db.query<{ n: number }>(`SELECT coalesce(max(position), 0)::int AS n FROM events`);
  return {
    keyUsed: new Map(used.rows.map((r) => [r.stream_id, r.n])),
    usageCount: new Map(usage.rows.filter((r) => r.n > 0).map((r) => [r.id, r.n])),
    keyCreatedBy: async (owner) =>
      (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE type = 'KeyCreated' AND data->>'ownerId' = $1`, [owner])).rows[0]!.n,
    chainOk: (await verifyDatabaseLog(db)).ok,
    head: head.rows[0]!.n,
  };
}

async function replayVerifies(env: Record<string, string>): Promise<{ code: number | null; stdout: string }> {
  const { code, stdout, stderr } = await runTs("scripts/replay.ts", ["--verify"], { LOG_LEVEL: "warn", ...env }).done;
  return { code, stdout: stdout + stderr };
}

describe.runIf(onPostgres)("PostgreSQL restarted under load", () => {
  let cluster: OwnCluster;
  let server: ReturnType<typeof spawnServer>;
  let url: string;

  beforeAll(async () => {
    cluster = startOwnCluster();
    server = spawnServer({ DATABASE_URL: cluster.url, DB_POOL_SIZE: "10" });
    url = await server.url;
  }, 180_000);
  afterAll(async () => {
    server?.child.kill("SIGTERM");
    if (server) await exited(server.child);
    cluster?.stop();
  });

  it("keeps the server alive, answers SERVICE_UNAVAILABLE or succeeds meanwhile, recovers alone, and loses or invents nothing", async () => {
    const keys = await createKeys(url, "setup", 10);
    const gateways = await Promise.all(Array.from({ length: 20 }, (_, i) => clientFor(url, `gw-${i}`, ["gateway"])));
    const creators = await Promise.all(Array.from({ length: 5 }, () => clientFor(url, "creator")));

    // A subscriber across the restart: it must see the whole log, in order, once, resuming itself if it is ended.
    const seen: number[] = [];
    const ended: unknown[] = [];
    const ws = wsClient(url, await tokenFor("auditor", ["auditor"]));
    let subscription = collect(ws, OnEventsDocument, { afterPosition: "0" });
    const watch = setInterval(() => {
      for (const item of subscription.items.splice(0)) seen.push(Number(item.events.position));
      if (subscription.done) {
        ended.push(...subscription.errors);
        subscription = collect(ws, OnEventsDocument, { afterPosition: String(seen.at(-1) ?? 0) });
      }
    }, 50);

    const tally = newTally();
    let stopping = false;
    const loops = [
      ...gateways.map((gateway) => verifyLoop(gateway, keys, tally, () => stopping)),
      ...creators.map((creator, i) => createLoop(creator, `c${i}`, tally, () => stopping)),
    ];
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const validBefore = totalValid(tally);
    await cluster.restart();
    const restarted = performance.now();
    // Recovery without a restart of the server: VALID answers flow again.
    await expect.poll(() => tally.validTimes.filter((t) => t > restarted).length, { timeout: 30_000, interval: 100 }).toBeGreaterThan(100);
    stopping = true;
    await Promise.all(loops);

    expect(server.child.exitCode, server.output()).toBeNull();
    expect(server.output()).not.toMatch(/Unhandled|uncaught/i);
    expect(tally.transport).toBe(0);
    const codes = Object.fromEntries(tally.codes);
    expect(Object.keys(codes).filter((code) => code !== "SERVICE_UNAVAILABLE"), JSON.stringify(codes)).toEqual([]);
    expect(validBefore).toBeGreaterThan(0);

    const db = await openPostgres({ url: cluster.url, poolSize: 2 });
    try {
      // VALID answers come on commit; the server's sealer counts them milliseconds later.
      const unsealed = async () =>
        (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM event_records r WHERE NOT EXISTS (SELECT 1 FROM event_seals s WHERE s.seq = r.seq)`)).rows[0]!.n;
      await expect.poll(unsealed, { timeout: 30_000 }).toBe(0);
      const books = await accountingOf(db);
      expect(Object.fromEntries(books.keyUsed)).toEqual(Object.fromEntries(tally.valid));
      expect(Object.fromEntries(books.usageCount)).toEqual(Object.fromEntries(tally.valid));
      expect(await books.keyCreatedBy("creator")).toBe(tally.created);
      expect(books.chainOk).toBe(true);

      await expect.poll(() => (subscription.items.length, seen.length + subscription.items.length), { timeout: 15_000 }).toBeGreaterThanOrEqual(books.head);
      clearInterval(watch);
      for (const item of subscription.items.splice(0)) seen.push(Number(item.events.position));
      expect(seen).toEqual(Array.from({ length: books.head }, (_, i) => i + 1));
    } finally {
      clearInterval(watch);
      await ws.dispose();
      await db.close();
    }
    const replay = await replayVerifies({ DATABASE_URL: cluster.url });
    expect(replay.code, replay.stdout).toBe(0);
    expect(replay.stdout).toMatch(/"differences": \[\]/);
  }, 300_000);
});

describe("the server killed with SIGKILL during a verify burst", () => {
  let location: TestDatabaseLocation;

  beforeAll(async () => {
    location = await createTestLocation();
  });
  afterAll(async () => {
    await location?.drop();
  });

  const env = (): Record<string, string> => (location.databaseUrl ? { DATABASE_URL: location.databaseUrl } : { DATA_DIR: location.dataDir, DATABASE_URL: "" });

  it("has a KeyUsed for every VALID answer seen, usage counts that match, and a clean chain after the restart", async () => {
    let server = spawnServer(env());
    let url = await server.url;
    const keys = await createKeys(url, "setup", 5);
    const gateways = await Promise.all(Array.from({ length: 20 }, (_, i) => clientFor(url, `gw-${i}`, ["gateway"])));
    const tally: Tally = newTally();
    let stopping = false;
    const loops = gateways.map((gateway) => verifyLoop(gateway, keys, tally, () => stopping));
    await expect.poll(() => totalValid(tally), { timeout: 30_000, interval: 20 }).toBeGreaterThan(100);
    const inFlight = tally.inFlight;
    server.child.kill("SIGKILL");
    await exited(server.child);
    stopping = true;
    await Promise.all(loops);

    // Restarted on the same data: it must come up (PGlite takes over the dead process's lock).
    server = spawnServer(env());
    url = await server.url;
    server.child.kill("SIGTERM");
    await exited(server.child);

    const db = await openAt(location, 2);
    let books: Accounting;
    try {
      // What was committed and not yet sealed when the server stopped is sealed as any start would.
      const store = new EventStore(db, projections);
      await store.drained();
      await store.close();
      books = await accountingOf(db);
    } finally {
      await db.close();
    }
    // A VALID answer is given only after its KeyUsed committed; requests cut off by the kill may have committed unseen.
    let unseen = 0;
    for (const { keyId } of keys) {
      const answered = tally.valid.get(keyId) ?? 0;
      const recorded = books.keyUsed.get(keyId) ?? 0;
      expect(recorded).toBeGreaterThanOrEqual(answered);
      unseen += recorded - answered;
      expect(books.usageCount.get(keyId) ?? 0).toBe(recorded);
    }
    expect(unseen).toBeLessThanOrEqual(inFlight + gateways.length);
    expect(books.chainOk).toBe(true);
    const replay = await replayVerifies(env());
    expect(replay.code, replay.stdout).toBe(0);
    expect(replay.stdout).toMatch(/"differences": \[\]/);
  }, 300_000);
});
