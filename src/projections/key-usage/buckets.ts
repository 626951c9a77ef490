import type { SqlClient } from "../../db/database.js";

export const USAGE_GRANULARITIES = ["MINUTE", "HOUR", "DAY"] as const;
export type UsageGranularity = (typeof USAGE_GRANULARITIES)[number];

/** At most this many buckets per request: a wide range at a fine granularity would be a large scan. */
export const MAX_USAGE_BUCKETS = 10_000;
const BUCKET_MS: Record<UsageGranularity, number> = { MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 };

export interface UsageBucket {
  start: Date;
  /** VALID verifications. */
  count: number;
  valid: number;
  rateLimited: number;
  usageExceeded: number;
  /** Refusals of the key for any other reason (disabled, revoked, expired, wrong service, permissions). */
  denied: number;
}

/** Why a range cannot be answered (the argument to blame and a message for the caller), or undefined. */
export function usageRangeProblem(from: Date, to: Date, granularity: UsageGranularity): { field: "to" | "granularity"; message: string } | undefined {
  if (to <= from) return { field: "to", message: "to must be after from" };
  if ((to.getTime() - from.getTime()) / BUCKET_MS[granularity] > MAX_USAGE_BUCKETS) {
    return { field: "granularity", message: `at most ${MAX_USAGE_BUCKETS} buckets per request: narrow the range or coarsen the granularity` };
  }
  return undefined;
}

/** Uses of one key per bucket (UTC), every bucket from the one holding `from` up to `to` (exclusive), zeros included. */
export async function usageBuckets(sql: SqlClient, keyId: string, from: Date, to: Date, granularity: UsageGranularity): Promise<UsageBucket[]> {
  const problem = usageRangeProblem(from, to, granularity);
  if (problem) throw new RangeError(problem.message);
  const unit = granularity.toLowerCase();
  const { rows } = await sql.query<{ start: Date; count: string; rate_limited: string; usage_exceeded: string; denied: string }>(
    `SELECT s.start, COALESCE(SUM(u.count), 0)::text AS count, COALESCE(SUM(u.rate_limited), 0)::text AS rate_limited,
            COALESCE(SUM(u.usage_exceeded), 0)::text AS usage_exceeded, COALESCE(SUM(u.denied), 0)::text AS denied
       FROM generate_series(date_trunc($2, $3::timestamptz, 'UTC'), $4::timestamptz - interval '1 millisecond', ('1 ' || $2)::interval) AS s(start)
       LEFT JOIN key_usage u
         ON u.key_id = $1 AND u.bucket_start >= s.start AND u.bucket_start < s.start + ('1 ' || $2)::interval
      GROUP BY s.start
      ORDER BY s.start`,
    [keyId, unit, from.toISOString(), to.toISOString()],
  );
  return rows.map((row) => ({
    start: new Date(row.start),
    count: Number(row.count),
    valid: Number(row.count),
    rateLimited: Number(row.rate_limited),
    usageExceeded: Number(row.usage_exceeded),
    denied: Number(row.denied),
  }));
}
