// npm run bench:verify [-- --backend both|pglite|postgres] [--seconds 10] [--rounds 3] [--connections 50] [--keys 20] [--write]
// A real server (startServer) per backend; autocannon in a child process hits it with (a) `{ __typename }`
// and (b) verifyApiKey mutations rotating among a few keys. Reports requests/s, p50, p99 and the ratio
// verify/trivial (target >= 70%, p99 <= 2x), and checks that the KeyUsed events written equal the VALID answers.
// PostgreSQL: DATABASE_URL when set (a database of its own is created on it), else a throwaway cluster.
import type { CannonJob, CannonResult } from "./cannon.js";
import {
  createKeys,
  createLocation,
  fmt,
  machine,
  markdownTable,
  outputOf,
  pct,
  percentile,
  runChild,
  sleep,
  startBenchServer,
  tokenFor,
  type Backend,
  type Cluster,
} from "./common.js";
import { runBenchmark, type OptionValues } from "./harness.js";

const OPTIONS = { seconds: 10, rounds: 3, connections: 50, keys: 20 };
type Options = OptionValues<typeof OPTIONS>;
const TARGET = 0.7;

const VERIFY = "mutation($input: VerifyApiKeyInput!) { verifyApiKey(input: $input) { code valid keyId } }";

async function cannon(job: CannonJob): Promise<CannonResult> {
  return JSON.parse(await outputOf(runChild("./cannon.ts", [JSON.stringify(job)]))) as CannonResult;
}

interface Measured {
  requests: number;
  perSecond: number;
  /** Median of the rounds' p50 and the worst round's p99. */
  p50: number;
  p99: number;
  rounds: CannonResult[];
}

function combine(rounds: CannonResult[]): Measured {
  const requests = rounds.reduce((sum, r) => sum + r.requests, 0);
  const seconds = rounds.reduce((sum, r) => sum + r.seconds, 0);
  const p50s = rounds.map((r) => r.p50).sort((a, b) => a - b);
  return { requests, perSecond: requests / seconds, p50: p50s[Math.floor(p50s.length / 2)]!, p99: Math.max(...rounds.map((r) => r.p99)), rounds };
}

const sum = (rounds: CannonResult[], pick: (r: CannonResult) => Record<string, number>) =>
  rounds.reduce<Record<string, number>>((all, r) => {
    for (const [code, n] of Object.entries(pick(r))) all[code] = (all[code] ?? 0) + n;
    return all;
  }, {});

interface BackendResult {
  backend: Backend;
  trivial: Measured;
  verify: Measured;
  valid: number;
  keyUsedWritten: number;
  usageCounted: number;
  /** KeyUsed: from the verification's clock reading (just before its INSERT) to the sealer's commit, ms. */
  lags: number[];
}

/**
 * Trivial and verify alternate in rounds (the machine is shared, so slow drift hits both alike).
 * A 2 s warm-up by duration estimates each rate; every measured round then asks for an exact
 * amount of requests, so that every answer is awaited and counted.
 */
async function runOn(backend: Backend, cluster: Cluster | undefined, { seconds, rounds, connections, keys: keyCount }: Options): Promise<BackendResult> {
  const location = await createLocation(backend === "postgres" ? cluster : undefined);
  const server = await startBenchServer(location);
  const lags: number[] = [];
  const stopLags = server.services.store.onSealed((events) => {
    const now = Date.now();
    for (const e of events) if (e.type === "KeyUsed") lags.push(now - e.occurredAt.getTime());
  });
  try {
    const url = server.url.replace("localhost", "127.0.0.1");
    const keys = await createKeys(url, keyCount);
    const gateway = await tokenFor("bench-gateway", ["gateway"]);
    const trivialJob = { url, token: gateway, bodies: [JSON.stringify({ query: "{ __typename }" })], connections };
    const verifyJob = {
      url,
      token: gateway,
      bodies: keys.map((k) => JSON.stringify({ query: VERIFY, variables: { input: { key: k.secret, service: "SMS" } } })),
      connections,
    };
    const counts = async () => {
      const { rows } = await server.services.db.query<{ used: number; counted: number }>(
        `SELECT (SELECT count(*) FROM events WHERE type = 'KeyUsed')::int AS used,
                (SELECT COALESCE(sum(usage_count), 0) FROM api_keys)::int AS counted`,
      );
      return rows[0]!;
    };
    let trivialRate = (await cannon({ ...trivialJob, duration: 2 })).perSecond;
    let verifyRate = (await cannon({ ...verifyJob, duration: 2 })).perSecond;
    // The warm-up stops with requests in flight; let the server commit them before counting.
    const before = await settled(counts);
    const trivial: CannonResult[] = [];
    const verify: CannonResult[] = [];
    const perRound = seconds / rounds;
    for (let round = 0; round < rounds; round++) {
      trivial.push(await cannon({ ...trivialJob, amount: Math.max(500, Math.round(trivialRate * perRound)) }));
      verify.push(await cannon({ ...verifyJob, amount: Math.max(500, Math.round(verifyRate * perRound)) }));
      trivialRate = trivial.at(-1)!.perSecond;
      verifyRate = verify.at(-1)!.perSecond;
    }
    const after = await settled(counts);
    return {
      backend,
      trivial: combine(trivial),
      verify: combine(verify),
      valid: sum(verify, (r) => r.codes).VALID ?? 0,
      keyUsedWritten: after.used - before.used,
      usageCounted: after.counted - before.counted,
      lags,
    };
  } finally {
    stopLags();
    await server.stop();
    await location.drop();
  }
}

/** Reads until two reads 300 ms apart agree. */
async function settled<T>(read: () => Promise<T>): Promise<T> {
  let last = JSON.stringify(await read());
  for (;;) {
    await sleep(300);
    const value = await read();
    if (JSON.stringify(value) === last) return value;
    last = JSON.stringify(value);
  }
}

function problems(m: Measured): string {
  const total = (pick: (r: CannonResult) => number) => m.rounds.reduce((n, r) => n + pick(r), 0);
  const errors = Object.entries(sum(m.rounds, (r) => r.graphqlErrors)).map(([code, n]) => `${n} ${code}`);
  const notValid = Object.entries(sum(m.rounds, (r) => r.codes)).filter(([code]) => code !== "VALID").map(([code, n]) => `${n} ${code}`);
  const [non2xx, socket, timeouts] = [total((r) => r.non2xx), total((r) => r.errors), total((r) => r.timeouts)];
  const all = [non2xx && `${non2xx} non-2xx`, socket && `${socket} socket errors`, timeouts && `${timeouts} timeouts`, ...errors, ...notValid];
  return all.filter(Boolean).join(", ") || "none";
}

function report(results: BackendResult[], { seconds, rounds, connections }: Options): string {
  const rows = results.flatMap((r) => {
    const ratio = r.verify.perSecond / r.trivial.perSecond;
    return [
      [r.backend, "`{ __typename }`", fmt(r.trivial.requests), fmt(r.trivial.perSecond), fmt(r.trivial.p50), fmt(r.trivial.p99), "", problems(r.trivial)],
      [r.backend, "`verifyApiKey`", fmt(r.verify.requests), fmt(r.verify.perSecond), fmt(r.verify.p50), fmt(r.verify.p99),
        `**${pct(ratio)}** ${ratio >= TARGET ? "(target ≥ 70%: met)" : "(target ≥ 70%: **missed**)"}; p99 ${fmt(r.verify.p99 / r.trivial.p99, 1)}× ${r.verify.p99 <= 2 * r.trivial.p99 ? "(≤ 2×: met)" : "(≤ 2×: **missed**)"}`, problems(r.verify)],
    ];
  });
  const checks = results.map((r) => {
    const valid = r.valid;
    const ok = valid === r.keyUsedWritten && valid === r.usageCounted;
    const sorted = [...r.lags].sort((a, b) => a - b);
    return `- ${r.backend}: commit-to-sealed lag of ${fmt(sorted.length)} KeyUsed: p50 ${fmt(percentile(sorted, 50), 1)} ms, p99 ${fmt(percentile(sorted, 99), 1)} ms.\n` +
      `- ${r.backend}: ${fmt(valid)} VALID answers, ${fmt(r.keyUsedWritten)} KeyUsed events written, usage_count grew by ${fmt(r.usageCounted)}: ${ok ? "equal" : "**MISMATCH**"}`;
  });
  return [
    `Command: \`npm run bench:verify\`: ${connections} connections, ~${seconds} s per request type in ${rounds} alternating rounds after a 2 s warm-up each;`,
    "autocannon in a child process; p50 is the median round's, p99 the worst round's.",
    `Machine: ${machine()}.`,
    "",
    markdownTable(["backend", "request", "requests", "req/s", "p50 ms", "p99 ms", "verify / trivial", "errors"], rows),
    "",
    ...checks,
  ].join("\n");
}

await runBenchmark({
  name: "verify",
  usage: "[--seconds 10] [--rounds 3] [--connections 50] [--keys 20]",
  options: OPTIONS,
  backends: ["pglite", "postgres"],
  async measure({ opts, cluster, eachBackend }) {
    const results = await eachBackend((backend) => runOn(backend, cluster, opts));
    const mismatch = results.some((r) => r.valid !== r.keyUsedWritten);
    return { markdown: report(results, opts), ok: !mismatch };
  },
});
