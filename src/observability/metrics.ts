import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * keyledger's Prometheus metrics, one registry per process. Modules import the metric they feed;
 * the server exposes `registry` at /metrics. Names follow Prometheus conventions (base units,
 * `_total` for counters).
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** GraphQL operations (by operation name, or type when anonymous) and other HTTP routes (by path). */
export const requests = new Counter({
  name: "keyledger_requests_total",
  help: "Requests by operation and outcome (ok, or the first error's extensions.code)",
  labelNames: ["operation", "outcome"] as const,
  registers: [registry],
});

export const requestDuration = new Histogram({
  name: "keyledger_request_duration_seconds",
  help: "Request latency by operation and outcome",
  labelNames: ["operation", "outcome"] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const verifications = new Counter({
  name: "keyledger_verifications_total",
  help: "Key verifications by answer code (VALID, NOT_FOUND, DISABLED, REVOKED, WRONG_SERVICE)",
  labelNames: ["code"] as const,
  registers: [registry],
});

export const groupCommitBatchSize = new Histogram({
  name: "keyledger_group_commit_batch_size",
  help: "Entries per group-commit flush (retries of a failed batch in halves included)",
  buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
  registers: [registry],
});

/** Fed by whoever makes appended events visible (the sealer): seconds from append to sealed. */
export const appendLag = new Histogram({
  name: "keyledger_append_lag_seconds",
  help: "Seconds from an event's append to its being sealed and readable",
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

/** Sources read at scrape time; several servers in one process (tests) add up. */
interface Sources {
  subscriptions?: () => number;
  pool?: () => { total: number; idle: number; waiting: number } | undefined;
}
const sources = new Set<Sources>();

new Gauge({
  name: "keyledger_subscriptions_open",
  help: "GraphQL subscriptions currently open (graphql-ws and SSE)",
  registers: [registry],
  collect() {
    let open = 0;
    for (const source of sources) open += source.subscriptions?.() ?? 0;
    this.set(open);
  },
});

new Gauge({
  name: "keyledger_db_pool_connections",
  help: "PostgreSQL pool connections: total, idle, and callers waiting for one",
  labelNames: ["state"] as const,
  registers: [registry],
  collect() {
    const sum = { total: 0, idle: 0, waiting: 0 };
    for (const source of sources) {
      const stats = source.pool?.();
      if (!stats) continue;
      sum.total += stats.total;
      sum.idle += stats.idle;
      sum.waiting += stats.waiting;
    }
    for (const [state, value] of Object.entries(sum)) this.set({ state }, value);
  },
});

/** Registers a running server's gauges' sources; the returned function removes them. */
export function observe(source: Sources): () => void {
  sources.add(source);
  return () => sources.delete(source);
}

/** Counts one finished request. */
export function recordRequest(operation: string, outcome: string, seconds: number): void {
  requests.inc({ operation, outcome });
  requestDuration.observe({ operation, outcome }, seconds);
}
