// The load generator of bench:verify, in a process of its own so that it does not share the
// server's event loop: autocannon against one server, cycling through the given GraphQL bodies or
// HTTP requests, counting every answer (HTTP status, GraphQL errors, verification codes from a
// GraphQL answer, a /v1/keys.verify answer or forward-auth's X-Keyledger-Code). Prints one JSON line.
//   tsx scripts/bench/cannon.ts '<json CannonJob>'
import type { IncomingHttpHeaders } from "node:http";
import autocannon from "autocannon";

/** A plain HTTP request (the gateway endpoints); its headers replace the job's. */
export interface CannonRequest {
  method: "GET" | "POST";
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface CannonJob {
  url: string;
  token: string;
  /** GraphQL bodies, POSTed to `url` with the token as a bearer; or else `requests`. */
  bodies?: string[];
  requests?: CannonRequest[];
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
  /** Verification answers, by code. */
  codes: Record<string, number>;
}

const job = JSON.parse(process.argv[2]!) as CannonJob;
const graphqlErrors: Record<string, number> = {};
const codes: Record<string, number> = {};
const count = (into: Record<string, number>, key: string) => (into[key] = (into[key] ?? 0) + 1);

interface Answer {
  data?: { verifyApiKey?: { code: string } };
  errors?: Array<{ extensions?: { code?: string } }>;
  code?: string;
}

function onResponse(_status: number, body: string, _context: object, headers: IncomingHttpHeaders = {}): void {
  const headerCode = headers["x-keyledger-code"];
  if (body === "" && typeof headerCode === "string") return void count(codes, headerCode);
  try {
    const parsed = JSON.parse(body) as Answer;
    for (const error of parsed.errors ?? []) count(graphqlErrors, error.extensions?.code ?? "UNKNOWN");
    const code = parsed.data?.verifyApiKey?.code ?? parsed.code ?? headerCode;
    if (typeof code === "string") count(codes, code);
  } catch {
    count(graphqlErrors, "UNPARSEABLE_BODY");
  }
}

const graphqlRequests = (bodies: string[]) => bodies.map((body) => ({ method: "POST" as const, body, onResponse }));

const result = await autocannon({
  url: job.url,
  connections: job.connections,
  ...(job.amount ? { amount: job.amount } : { duration: job.duration ?? 10 }),
  timeout: 10,
  headers: { "content-type": "application/json", authorization: `Bearer ${job.token}` },
  requests: job.requests ? job.requests.map((request) => ({ ...request, onResponse })) : graphqlRequests(job.bodies ?? []),
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
