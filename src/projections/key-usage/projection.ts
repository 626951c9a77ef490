import type { Projection } from "../parsed-event.js";
import { UsageTally } from "./tally.js";

/**
 * KeyUsed → api_keys.usage_count / last_used_at and per-minute buckets in key_usage.
 * A whole batch costs one statement: counts are summed per key and minute first.
 */
export const keyUsageProjection: Projection<"KeyUsed"> = {
  name: "key_usage",
  handles: ["KeyUsed"],
  async apply(tx, events) {
    const tally = new UsageTally();
    for (const event of events) tally.add(event.data.keyId, Date.parse(event.data.usedAt));
    const buckets = tally.buckets();
    await tx.query(
      `WITH touched AS (
         UPDATE api_keys AS k
            SET usage_count = k.usage_count + u.n,
                last_used_at = GREATEST(k.last_used_at, u.last)
           FROM unnest($1::uuid[], $2::bigint[], $3::timestamptz[]) AS u(id, n, last)
          WHERE k.id = u.id
          RETURNING 1)
       INSERT INTO key_usage (key_id, bucket_start, count)
       SELECT b.key_id, to_timestamp(b.minute / 1000.0), b.n
         FROM unnest($4::uuid[], $5::bigint[], $6::bigint[]) AS b(key_id, minute, n)
       ON CONFLICT (key_id, bucket_start) DO UPDATE SET count = key_usage.count + EXCLUDED.count`,
      [
        [...tally.perKey.keys()],
        [...tally.perKey.values()].map((k) => k.count),
        [...tally.perKey.values()].map((k) => new Date(k.last).toISOString()),
        buckets.keyIds,
        buckets.minutes,
        buckets.counts,
      ],
    );
  },
};
