// npm run bench:append [-- --events 50000] [--batch 50] [--writers 8] [--rounds 2] [--write]
// PostgreSQL only: DATABASE_URL (a database of its own per variant is created on it), else a throwaway cluster.
// N KeyUsed-like events, written by C concurrent writers in batches like the verifier's group commit, by:
//   plain            one multi-row INSERT per batch into a table like `events` (the baseline)
//   plain+tx         the same INSERT inside BEGIN … COMMIT
//   plain+tx+lock    … plus a global advisory lock (what our appends took before the sealed log)
//   ours             EventStore.appendFacts as the verifier writes (stream locks, one INSERT), until the
//                    sealer has given every event its position and chain hash
//   ours+projections the same with the real projections (key_limits by the writers; usage counters and
//                    minute buckets by the sealer)
//   emmett           @event-driven-io/emmett-postgresql appendToStream, one stream and one call per batch
// Each variant runs on a fresh database; the figure kept is the best of the rounds (the machine is shared).
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import { getPostgreSQLEventStore } from "@event-driven-io/emmett-postgresql";
import pg from "pg";
import { ApiKeyCommands } from "../../src/commands/api-keys.js";
import type { Database } from "../../src/db/database.js";
import { migrate } from "../../src/db/migrator.js";
import { openPostgres } from "../../src/db/postgres.js";
import { EventStore } from "../../src/eventstore/event-store.js";
import { chainHash, GENESIS_HASH } from "../../src/eventstore/hash-chain.js";
import { ANY_VERSION, type AppendRequest, type RecordedEvent } from "../../src/eventstore/types.js";
import { projections } from "../../src/projections/index.js";
import { batchesFor, driveWriters } from "./append-batches.js";
import { createLocation, fmt, machine, markdownTable, outputOf, pct, percentile, runChild, sleep, type Cluster } from "./common.js";
import { runBenchmark, type OptionValues } from "./harness.js";

const OPTIONS = { events: 50_000, batch: 50, writers: 8, rounds: 2, keys: 100, only: "" };
type Options = OptionValues<typeof OPTIONS>;

type Variant = "plain" | "plain+tx" | "plain+tx+lock" | "ours" | "ours+projections" | "emmett" | "ours+projections, 2 processes";
const ALL_VARIANTS: Variant[] = ["plain", "plain+tx", "plain+tx+lock", "ours", "ours+projections", "emmett", "ours+projections, 2 processes"];
const TWO_PROCESSES = "ours+projections, 2 processes" satisfies Variant;

/** Like `events`, with a bigserial position: what an append-only table costs without our rules. */
const PLAIN_TABLE = `
  CREATE TABLE plain_events (
    position bigserial PRIMARY KEY, event_id uuid NOT NULL UNIQUE, stream_id text NOT NULL, stream_version integer,
    type text NOT NULL, schema_version integer NOT NULL, data jsonb NOT NULL, metadata jsonb NOT NULL,
    occurred_at timestamptz(3) NOT NULL, hash text NOT NULL, UNIQUE (stream_id, stream_version));
  CREATE INDEX plain_events_stream_position_idx ON plain_events (stream_id, position);`;

const PLAIN_INSERT = `INSERT INTO plain_events (event_id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at, hash)
  SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::int[], $6::jsonb[], $7::jsonb[], $8::timestamptz[], $9::text[])`;

const APPEND_LOCK = 0x6b6c6467; // the global lock appends took before the sealed log

function plainParams(batch: AppendRequest[]): unknown[] {
  const events = batch.map((r) => ({ ...r.events[0]!, streamId: r.streamId, metadata: r.metadata }));
  return [
    events.map(() => randomUUID()),
    events.map((e) => e.streamId),
    events.map(() => null),
    events.map((e) => e.type),
    events.map((e) => e.schemaVersion),
    events.map((e) => JSON.stringify(e.data)),
    events.map((e) => JSON.stringify(e.metadata)),
    events.map((e) => e.occurredAt!.toISOString()),
    events.map(() => ""),
  ];
}

const lags: number[] = [];

/**
 * Ours: writers commit facts as the verifier does (stream locks and one INSERT per batch, answered
 * once durable); the rate counts until the sealer has sealed and projected the last of them. Each
 * event's lag from its batch's commit to its seal's commit is recorded.
 */
async function sealedRate(
  store: EventStore,
  batches: AppendRequest[][],
  drive: (batches: AppendRequest[][], write: (batch: AppendRequest[]) => Promise<unknown>) => Promise<number>,
): Promise<number> {
  const committedAt = new Map<string, number>();
  const sealedAt = new Map<string, number>();
  const stop = store.onSealed((events) => {
    const now = performance.now();
    for (const e of events) sealedAt.set(e.eventId, now);
  });
  for (const batch of batches) for (const r of batch) r.events[0]!.eventId = randomUUID();
  const started = performance.now();
  const commitRate = await drive(batches, async (batch) => {
    await store.appendFacts(batch);
    const now = performance.now();
    for (const r of batch) committedAt.set(r.events[0]!.eventId!, now);
  });
  console.log(`  writers committed at ${fmt(commitRate)} events/s`);
  await store.caughtUp();
  const seconds = (performance.now() - started) / 1000;
  stop();
  for (const [id, at] of committedAt) lags.push(Math.max(0, (sealedAt.get(id) ?? at) - at));
  const total = batches.reduce((n, b) => n + b.length, 0);
  return total / seconds;
}

/**
 * Two writer processes (append-process.ts), WRITERS/2 writers and half the events each, on the same
 * database: events per second from "go" until everything both committed is sealed (by whichever
 * process's sealer was elected).
 */
async function twoProcessesRate(db: Database, url: string, keys: string[], opts: Options): Promise<number> {
  const job = { url, writers: Math.max(1, Math.floor(opts.writers / 2)), events: Math.floor(opts.events / 2), batch: opts.batch, keys };
  const children = [0, 1].map(() => runChild("./append-process.ts", [JSON.stringify(job)]));
  const lines = children.map((child) => {
    const reader = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    return async (): Promise<string> => {
      const line = await reader.next();
      if (line.done) throw new Error("a writer process ended early");
      return line.value;
    };
  });
  const exited = children.map((child) => outputOf(child).catch((error: unknown) => error));
  try {
    for (const next of lines) if ((await next()) !== "ready") throw new Error("a writer process did not start");
    const started = performance.now();
    for (const child of children) child.stdin!.write("go\n");
    const rates = await Promise.all(lines.map(async (next) => (JSON.parse(await next()) as { rate: number }).rate));
    console.log(`  writer processes committed at ${rates.map((r) => fmt(r)).join(" and ")} events/s`);
    const total = job.events * 2;
    for (;;) {
      const { rows } = await db.query<{ sealed: string }>("SELECT count(*)::text AS sealed FROM event_seals s JOIN event_records r USING (seq) WHERE r.type = 'KeyUsed'");
      if (Number(rows[0]!.sealed) >= total) break;
      await sleep(10);
    }
    return total / ((performance.now() - started) / 1000);
  } finally {
    for (const child of children) child.stdin!.end("stop\n");
    await Promise.all(exited);
  }
}

async function createKeys(store: EventStore, count: number): Promise<string[]> {
  const commands = new ApiKeyCommands(store);
  const caller = { viewer: { userId: "bench-owner", roles: new Set(["owner" as const]) }, requestId: "bench" };
  const keys: string[] = [];
  for (let i = 0; i < count; i++) keys.push((await commands.create(caller, { service: "SMS", name: `bench ${i}` })).keyId);
  return keys;
}

/**
 * The variants `--only` names, comma-separated. A label may itself hold a comma ("ours+projections, 2
 * processes"), so neighbouring pieces are joined back when together they make a label.
 */
function selectedVariants(only: string): Variant[] {
  const pieces = only.split(",").map((piece) => piece.trim());
  const selected = new Set<string>();
  const isLabel = (text: string) => (ALL_VARIANTS as string[]).includes(text);
  for (let start = 0; start < pieces.length; ) {
    let end = pieces.length; // the longest run of pieces from here that is a label
    while (end > start && !isLabel(pieces.slice(start, end).join(", "))) end--;
    if (end === start) throw new Error(`--only: unknown variant "${pieces[start]}"; known: ${ALL_VARIANTS.join(" | ")}`);
    selected.add(pieces.slice(start, end).join(", "));
    start = end;
  }
  return ALL_VARIANTS.filter((variant) => selected.has(variant));
}

async function runVariant(variant: Variant, cluster: Cluster, opts: Options): Promise<number> {
  const WRITERS = opts.writers;
  const location = await createLocation(cluster);
  const db = await openPostgres({ url: location.databaseUrl!, poolSize: WRITERS });
  const drive = (batches: AppendRequest[][], write: (batch: AppendRequest[], writer: number, index: number) => Promise<unknown>) =>
    driveWriters(WRITERS, batches, write);
  try {
    await migrate(db);
    // Only ours+projections needs real keys (and their store's sealer applies the projections); the
    // others write to random key ids, and "ours" measures the log alone.
    const withProjections = variant === "ours+projections" || variant === TWO_PROCESSES ? new EventStore(db, projections) : undefined;
    const keys = withProjections ? await createKeys(withProjections, opts.keys) : Array.from({ length: opts.keys }, () => randomUUID());
    const batches = batchesFor(keys, opts);
    switch (variant) {
      case "plain":
        await db.exec(PLAIN_TABLE);
        return await drive(batches, (batch) => db.query(PLAIN_INSERT, plainParams(batch)));
      case "plain+tx":
        await db.exec(PLAIN_TABLE);
        return await drive(batches, (batch) => db.transaction((tx) => tx.query(PLAIN_INSERT, plainParams(batch))));
      case "plain+tx+lock":
        await db.exec(PLAIN_TABLE);
        return await drive(batches, (batch) =>
          db.transaction(async (tx) => {
            await tx.query("SELECT pg_advisory_xact_lock($1)", [APPEND_LOCK]);
            await tx.query(PLAIN_INSERT, plainParams(batch));
          }),
        );
      case "ours+projections, 2 processes":
        await withProjections!.close(); // the children's sealers do the sealing
        return await twoProcessesRate(db, location.databaseUrl!, keys, opts);
      case "ours":
      case "ours+projections": {
        const store = withProjections ?? new EventStore(db);
        try {
          return await sealedRate(store, batches, drive);
        } finally {
          await store.close();
        }
      }
      case "emmett": {
        // Our own pool (same size as the others'), so that dropping the database cannot crash the run.
        const pool = new pg.Pool({ connectionString: location.databaseUrl!, max: WRITERS });
        pool.on("error", () => {});
        const emmett = getPostgreSQLEventStore(location.databaseUrl!, { connectionOptions: { pool } });
        await emmett.schema.migrate();
        try {
          return await drive(batches, (batch, writer, index) =>
            emmett.appendToStream(
              `key-${writer}-${index % 20}`,
              batch.map((r) => ({ type: "KeyUsed", data: r.events[0]!.data, metadata: r.metadata })),
            ),
          );
        } finally {
          await emmett.close();
          await pool.end().catch(() => {});
        }
      }
    }
  } finally {
    await db.close();
    await location.drop();
  }
}

/** CPU cost of the hash chain alone: canonical JSON and SHA-256 per event, as appendMany computes it. */
function hashChainMicrosPerEvent(opts: Options): number {
  const events = batchesFor(["00000000-0000-4000-8000-000000000000"], opts).flat().slice(0, 20_000);
  const started = performance.now();
  let previous = GENESIS_HASH;
  events.forEach((r, i) => {
    const e = r.events[0]!;
    const event: Omit<RecordedEvent, "hash"> = {
      eventId: randomUUID(), streamId: r.streamId, streamVersion: null, type: e.type, schemaVersion: e.schemaVersion,
      data: e.data, metadata: r.metadata, occurredAt: e.occurredAt!, position: BigInt(i + 1),
    };
    previous = chainHash(previous, event);
  });
  return ((performance.now() - started) * 1000) / events.length;
}

await runBenchmark({
  name: "append",
  usage: "[--events 50000] [--batch 50] [--writers 8] [--rounds 2] [--keys 100] [--only plain,ours,…]",
  options: OPTIONS,
  backends: ["postgres"],
  async measure({ opts, cluster }) {
    const { events: N, batch: BATCH, writers: WRITERS } = opts;
    /** `--only plain,ours` runs a subset (the summary needs all of them). */
    const VARIANTS = opts.only ? selectedVariants(opts.only) : ALL_VARIANTS;
    const best = new Map<Variant, number>();
    const all = new Map<Variant, number[]>();
    for (let round = 1; round <= opts.rounds; round++) {
      for (const variant of VARIANTS) {
        const rate = await runVariant(variant, cluster!, opts);
        console.log(`round ${round} ${variant.padEnd(17)} ${fmt(rate)} events/s`);
        all.set(variant, [...(all.get(variant) ?? []), rate]);
        best.set(variant, Math.max(best.get(variant) ?? 0, rate));
      }
    }
    if (VARIANTS.length < ALL_VARIANTS.length) return {};
    hashChainMicrosPerEvent(opts); // warm-up
    const hashMicros = hashChainMicrosPerEvent(opts);

    const sortedLags = [...lags].sort((a, b) => a - b);
    const plain = best.get("plain")!;
    const ours = best.get("ours")!;
    const emmett = best.get("emmett")!;
    const target = (variant: Variant): string => {
      if (variant === "ours" || variant === "ours+projections") {
        const r = best.get(variant)! / plain;
        return `${r >= 0.5 ? "≥ 50% of plain: met" : "≥ 50% of plain: **missed**"}; ${best.get(variant)! > emmett ? "ahead of Emmett" : "**behind Emmett**"}`;
      }
      return "";
    };
    const markdown = [
      `Command: \`npm run bench:append\`: ${fmt(N)} KeyUsed events, batches of ${BATCH} (one transaction each, as the group commit writes them),`,
      `${WRITERS} concurrent writers on one pool of ${WRITERS} connections; a fresh database per variant; best of ${opts.rounds} rounds (every round in brackets).`,
      `Machine: ${machine()}; PostgreSQL ${cluster!.throwaway ? "15 throwaway cluster (scripts/pg-throwaway.sh)" : "from DATABASE_URL"} on loopback.`,
      "",
      markdownTable(
        ["variant", "events/s", "vs plain", "target", "rounds"],
        VARIANTS.map((v) => [v, fmt(best.get(v)!), pct(best.get(v)! / plain), target(v), all.get(v)!.map((r) => fmt(r)).join(", ")]),
      ),
      "",
      `- Steps (each rate as a share of the previous one): BEGIN/COMMIT round trips, plain+tx / plain = ${pct(best.get("plain+tx")! / plain)};`,
      `  the advisory lock, plain+tx+lock / plain+tx = ${pct(best.get("plain+tx+lock")! / best.get("plain+tx")!)};`,
      `  (the lock row is kept to compare with runs before the sealed log: our appends take no global lock now).`,
      `  Ours: the writers' shared lock and one INSERT per batch (facts lock no stream); positions, the chain and (ours+projections) the usage projections in the sealer;`,
      `  its rate counts until the last event is sealed. Projections' share, ours+projections / ours = ${pct(best.get("ours+projections")! / ours)}.`,
      `- Commit-to-sealed lag of every event of the ours runs (batch commit → the sealer's commit): p50 ${fmt(percentile(sortedLags, 50), 1)} ms,`,
      `  p99 ${fmt(percentile(sortedLags, 99), 1)} ms, max ${fmt(sortedLags.at(-1) ?? 0, 1)} ms.`,
      `- The hash chain's CPU alone: ${fmt(hashMicros, 1)} µs per event (canonical JSON + SHA-256), ${fmt((hashMicros * BATCH) / 1000, 2)} ms per batch of ${BATCH}, in the sealer.`,
      `- Two processes appending at once (${TWO_PROCESSES}): each with ${Math.max(1, Math.floor(WRITERS / 2))} writers and half the events, one elected sealer;`,
      `  ${pct(best.get(TWO_PROCESSES)! / best.get("ours+projections")!)} of ours+projections in one process (its rate counts from both starting until the last event is sealed).`,
      `- Ours vs Emmett: ${fmt(ours / emmett, 2)}×.`,
    ].join("\n");
    return { markdown };
  },
});
