// The load generator of bench:verify, in a process of its own so that it does not share the
// server's event loop: autocannon against one URL, cycling through the given request bodies,
// counting every answer (HTTP status, GraphQL errors, verification codes). Prints one JSON line.
//   tsx scripts/bench/cannon.ts '<json CannonJob>'
import autocannon from "autocannon";

export interface CannonJob {
  url: string;
  token: string;
  bodies: string[];
  connections: number;
  /** Either a duration in seconds or an exact number of requests (then every answer is awaited). */
  duration?: number;
  amount?: number;
}

export interface CannonResult {
  requests: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Answers whose body had GraphQL errors, by extensions.code. */
  graphqlErrors: Record<string, number>;
  /** verifyApiKey answers, by code. */
  codes: Record<string, number>;
}

const job = JSON.parse(process.argv[2]!) as CannonJob;
const graphqlErrors: Record<string, number> = {};
const codes: Record<string, number> = {};
const count = (into: Record<string, number>, key: string) => (into[key] = (into[key] ?? 0) + 1);

function onResponse(_status: number, body: string): void {
  try {
    const parsed = JSON.parse(body) as { data?: { verifyApiKey?: { code: string } }; errors?: Array<{ extensions?: { code?: string } }> };
    for (const error of parsed.errors ?? []) count(graphqlErrors, error.extensions?.code ?? "UNKNOWN");
    const code = parsed.data?.verifyApiKey?.code;
    if (code) count(codes, code);
  } catch {
    count(graphqlErrors, "UNPARSEABLE_BODY");
  }
}

const result = await autocannon({
  url: job.url,
  connections: job.connections,
  ...(job.amount ? { amount: job.amount } : { duration: job.duration ?? 10 }),
  timeout: 10,
  headers: { "content-type": "application/json", authorization: `Bearer ${job.token}` },
  requests: job.bodies.map((body) => ({ method: "POST" as const, body, onResponse })),
});

const requests = result.requests.total;
const out: CannonResult = {
  requests,
  seconds: result.duration,
  perSecond: requests / result.duration,
  p50: result.latency.p50,
  p99: result.latency.p99,
  non2xx: result.non2xx,
  errors: result.errors,
  timeouts: result.timeouts,
  graphqlErrors,
  codes,
};
process.stdout.write(JSON.stringify(out) + "\n");
