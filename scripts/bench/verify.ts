// npm run bench:verify [-- --backend both|pglite|postgres] [--seconds 10] [--rounds 3] [--connections 50] [--keys 20] [--kinds graphql,policies,auth,json] [--write]
// A real server (startServer) per backend; autocannon in a child process hits it with the trivial
// GraphQL query `{ __typename }` (the baseline) and, rotating among a few keys: the verifyApiKey
// mutation (target >= 70% of the baseline, p99 <= 2x; issue #9), the same on keys with key policies (`policies`: one rate
// limit too large to refuse and credits enough for the run, so every call locks the key's limits
// row and spends a credit; target >= 60%), forward-auth GET /v1/auth (target >= 100%) and POST
// /v1/keys.verify (target >= 100%). All of them alternate in rounds in the same run. Reports
// requests/s, p50, p99 and each ratio, and checks that the KeyUsed events written equal the VALID
// answers and, for the policy keys, the credits spent.
// PostgreSQL: DATABASE_URL when set (a database of its own is created on it), else a throwaway cluster.
import type { CannonJob, CannonResult } from "./cannon.js";
import {
  createKeys,
  createLocation,
  fmt,
  graphql,
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

const OPTIONS = { seconds: 10, rounds: 3, connections: 50, keys: 20, kinds: "graphql,policies,auth,json" };
type Options = OptionValues<typeof OPTIONS>;

const VERIFY = "mutation($input: VerifyApiKeyInput!) { verifyApiKey(input: $input) { code valid keyId } }";
const VERIFY_POLICIES =
  "mutation($input: VerifyApiKeyInput!) { verifyApiKey(input: $input) { code valid keyId credits { remaining } ratelimits { name remaining resetAt } } }";
/** The policy keys' limits: never the reason for a refusal at any rate this machine reaches. */
const POLICIES = { ratelimits: [{ name: "requests", limit: 1_000_000, durationMs: 1_000 }], credits: { remaining: 10_000_000 } };

/** What is measured against the baseline, with its target ratio. */
/** Keys like createKeys' with POLICIES on each. */
async function createPolicyKeys(url: string, count: number): Promise<Array<{ id: string; secret: string }>> {
  const owner = await tokenFor("bench-owner", ["owner"]);
  const create = "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id } } }";
  const keys: Array<{ id: string; secret: string }> = [];
  for (let i = 0; i < count; i++) {
    const input = { service: "SMS", name: `bench policies ${i}`, ...POLICIES };
    const { createApiKey } = await graphql<{ createApiKey: { secret: string; apiKey: { id: string } } }>(url, owner, create, { input });
    keys.push({ id: createApiKey.apiKey.id, secret: createApiKey.secret });
  }
  return keys;
}

const KINDS = {
  graphql: { label: "`verifyApiKey` (GraphQL)", target: 0.7 },
  policies: { label: "`verifyApiKey`, key with a rate limit and credits", target: 0.6 },
  auth: { label: "forward-auth `GET /v1/auth`", target: 1.0 },
  json: { label: "`POST /v1/keys.verify`", target: 1.0 },
} as const;
type Kind = keyof typeof KINDS;

function kindsOf(option: string): Kind[] {
  const kinds = option.split(",").map((k) => k.trim()).filter(Boolean);
  const unknown = kinds.filter((k) => !(k in KINDS));
  if (unknown.length > 0 || kinds.length === 0) throw new Error(`--kinds takes a list of ${Object.keys(KINDS).join(", ")}; got "${option}"`);
  return kinds as Kind[];
}

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
  measured: Array<{ kind: Kind; result: Measured }>;
  valid: number;
  keyUsedWritten: number;
  usageCounted: number;
  /** ms from a KeyUsed's occurredAt to its seal's commit, over every one sealed during the run. */
  sealLag: { p50: number; p99: number; max: number };
  /** For the policy keys: VALID answers, credits spent and KeyUsed events (null when not measured). */
  policies: { valid: number; spent: number; keyUsed: number } | null;
}

function jobs(url: string, gateway: string, secrets: string[], policySecrets: string[], connections: number): Record<Kind | "trivial", CannonJob> {
  const origin = new URL(url).origin;
  const verifying = (query: string, keys: string[]): CannonJob => ({
    url,
    token: gateway,
    bodies: keys.map((key) => JSON.stringify({ query, variables: { input: { key, service: "SMS" } } })),
    connections,
  });
  return {
    trivial: { url, token: gateway, bodies: [JSON.stringify({ query: "{ __typename }" })], connections },
    graphql: verifying(VERIFY, secrets),
    policies: verifying(VERIFY_POLICIES, policySecrets),
    auth: {
      url: origin,
      token: gateway,
      requests: secrets.map((key) => ({ method: "GET", path: "/v1/auth?service=SMS", headers: { "x-keyledger-gateway-token": gateway, "x-api-key": key } })),
      connections,
    },
    json: {
      url: origin,
      token: gateway,
      requests: secrets.map((key) => ({
        method: "POST",
        path: "/v1/keys.verify",
        headers: { "content-type": "application/json", authorization: `Bearer ${gateway}` },
        body: JSON.stringify({ key, service: "SMS" }),
      })),
      connections,
    },
  };
}

/**
 * The baseline and every kind alternate in rounds (the machine is shared, so slow drift hits all
 * alike). A 2 s warm-up by duration estimates each rate; every measured round then asks for an
 * exact amount of requests, so that every answer is awaited and counted.
 */
async function runOn(backend: Backend, cluster: Cluster | undefined, { seconds, rounds, connections, keys: keyCount, kinds: kindList }: Options): Promise<BackendResult> {
  const kinds = kindsOf(kindList);
  const location = await createLocation(backend === "postgres" ? cluster : undefined);
  const server = await startBenchServer(location);
  try {
    const url = server.url.replace("localhost", "127.0.0.1");
    const keys = await createKeys(url, keyCount);
    const policyKeys = kinds.includes("policies") ? await createPolicyKeys(url, keyCount) : [];
    const policyIds = policyKeys.map((k) => Buffer.from(k.id, "base64").toString().split(":")[1]!);
    const all = jobs(url, await tokenFor("bench-gateway", ["gateway"]), keys.map((k) => k.secret), policyKeys.map((k) => k.secret), connections);
    const counts = async () => {
      const { rows } = await server.services.db.query<{ used: number; counted: number; policyUsed: number; policyCredits: number }>(
        `SELECT (SELECT count(*) FROM events WHERE type = 'KeyUsed')::int AS used,
                (SELECT COALESCE(sum(usage_count), 0) FROM api_keys)::int AS counted,
                (SELECT count(*) FROM events WHERE type = 'KeyUsed' AND stream_id = ANY($1::text[]))::int AS "policyUsed",
                (SELECT COALESCE(sum(credits_remaining), 0) FROM key_limits WHERE key_id = ANY($1::uuid[]))::int AS "policyCredits"`,
        [policyIds],
      );
      return rows[0]!;
    };
    // How long after it occurred (the verifier's clock, just before its commit) each KeyUsed was sealed:
    // an upper bound of its commit-to-sealed lag.
    const lags: number[] = [];
    const stopLags = server.services.store.onSealed((events) => {
      const now = Date.now();
      for (const e of events) if (e.type === "KeyUsed") lags.push(now - e.occurredAt.getTime());
    });
    const order: Array<Kind | "trivial"> = ["trivial", ...kinds];
    const rates = new Map<Kind | "trivial", number>();
    for (const kind of order) rates.set(kind, (await cannon({ ...all[kind], duration: 2 })).perSecond);
    // The warm-up stops with requests in flight; let the server commit them before counting.
    const before = await settled(counts);
    const results = new Map<Kind | "trivial", CannonResult[]>(order.map((kind) => [kind, []]));
    const perRound = seconds / rounds;
    for (let round = 0; round < rounds; round++) {
      for (const kind of order) {
        const result = await cannon({ ...all[kind], amount: Math.max(500, Math.round(rates.get(kind)! * perRound)) });
        results.get(kind)!.push(result);
        rates.set(kind, result.perSecond);
      }
    }
    const after = await settled(counts);
    stopLags();
    lags.sort((a, b) => a - b);
    const verifying = kinds.flatMap((kind) => results.get(kind)!);
    return {
      backend,
      trivial: combine(results.get("trivial")!),
      measured: kinds.map((kind) => ({ kind, result: combine(results.get(kind)!) })),
      valid: sum(verifying, (r) => r.codes).VALID ?? 0,
      keyUsedWritten: after.used - before.used,
      sealLag: { p50: percentile(lags, 50), p99: percentile(lags, 99), max: lags.at(-1) ?? 0 },
      usageCounted: after.counted - before.counted,
      policies: kinds.includes("policies")
        ? {
            valid: sum(results.get("policies")!, (r) => r.codes).VALID ?? 0,
            spent: before.policyCredits - after.policyCredits,
            keyUsed: after.policyUsed - before.policyUsed,
          }
        : null,
    };
  } finally {
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

const policiesAgree = ({ policies: p }: BackendResult) => !p || (p.valid === p.spent && p.valid === p.keyUsed);

function problems(m: Measured): string {
  const total = (pick: (r: CannonResult) => number) => m.rounds.reduce((n, r) => n + pick(r), 0);
  const errors = Object.entries(sum(m.rounds, (r) => r.graphqlErrors)).map(([code, n]) => `${n} ${code}`);
  const notValid = Object.entries(sum(m.rounds, (r) => r.codes)).filter(([code]) => code !== "VALID").map(([code, n]) => `${n} ${code}`);
  const [non2xx, socket, timeouts] = [total((r) => r.non2xx), total((r) => r.errors), total((r) => r.timeouts)];
  const all = [non2xx && `${non2xx} non-2xx`, socket && `${socket} socket errors`, timeouts && `${timeouts} timeouts`, ...errors, ...notValid];
  return all.filter(Boolean).join(", ") || "none";
}

function report(results: BackendResult[], { seconds, rounds, connections }: Options): string {
  const rows = results.flatMap((r) => [
    [r.backend, "`{ __typename }`", fmt(r.trivial.requests), fmt(r.trivial.perSecond), fmt(r.trivial.p50), fmt(r.trivial.p99), "", problems(r.trivial)],
    ...r.measured.map(({ kind, result }) => {
      const ratio = result.perSecond / r.trivial.perSecond;
      const target = KINDS[kind].target;
      const p99Ok = kind !== "graphql" || result.p99 <= 2 * r.trivial.p99;
      const verdict = `(target ≥ ${pct(target)}: ${ratio >= target ? "met" : "**missed**"}${kind === "graphql" ? `; p99 ≤ 2× trivial: ${p99Ok ? "met" : "**missed**"}` : ""})`;
      return [r.backend, KINDS[kind].label, fmt(result.requests), fmt(result.perSecond), fmt(result.p50), fmt(result.p99), `**${pct(ratio)}** ${verdict}`, problems(result)];
    }),
  ]);
  const checks = results.map((r) => {
    const ok = r.valid === r.keyUsedWritten && r.valid === r.usageCounted;
    const all = `- ${r.backend}: ${fmt(r.valid)} VALID answers, ${fmt(r.keyUsedWritten)} KeyUsed events written, usage_count grew by ${fmt(r.usageCounted)}: ${ok ? "equal" : "**MISMATCH**"}`;
    const lag = `- ${r.backend}: KeyUsed sealed ${fmt(r.sealLag.p50, 1)} ms (p50), ${fmt(r.sealLag.p99, 1)} ms (p99), ${fmt(r.sealLag.max, 1)} ms (max) after it occurred (just before its commit): an upper bound of the commit-to-sealed lag under this load`;
    if (!r.policies) return `${all}\n${lag}`;
    const { valid, spent, keyUsed } = r.policies;
    return `${all}\n${lag}\n- ${r.backend}, keys with policies: ${fmt(valid)} VALID answers, ${fmt(spent)} credits spent, ${fmt(keyUsed)} KeyUsed events: ${policiesAgree(r) ? "equal" : "**MISMATCH**"}`;
  });
  return [
    `Command: \`npm run bench:verify\`: ${connections} connections, ~${seconds} s per request type in ${rounds} alternating rounds after a 2 s warm-up each;`,
    "autocannon in a child process; p50 is the median round's, p99 the worst round's.",
    `Machine: ${machine()}.`,
    "",
    markdownTable(["backend", "request", "requests", "req/s", "p50 ms", "p99 ms", "vs trivial", "errors"], rows),
    "",
    ...checks,
  ].join("\n");
}

await runBenchmark({
  name: "verify",
  usage: "[--seconds 10] [--rounds 3] [--connections 50] [--keys 20] [--kinds graphql,policies,auth,json]",
  options: OPTIONS,
  backends: ["pglite", "postgres"],
  async measure({ opts, cluster, eachBackend }) {
    kindsOf(opts.kinds);
    const results = await eachBackend((backend) => runOn(backend, cluster, opts));
    const mismatch = results.some((r) => r.valid !== r.keyUsedWritten || !policiesAgree(r));
    return { markdown: report(results, opts), ok: !mismatch };
  },
});
