import type { EventData } from "../domain/events.js";
import type { InlineProjection } from "../eventstore/projection-hook.js";

const MINUTE = 60_000;

/**
 * KeyUsed → api_keys.usage_count / last_used_at and per-minute buckets in key_usage.
 * A whole group-committed batch costs one statement: counts are summed per key and minute first.
 */
export const keyUsageProjection: InlineProjection = {
  name: "key_usage",
  async apply(tx, events) {
    const perKey = new Map<string, { count: number; last: number }>();
    const perMinute = new Map<string, number>();
    for (const event of events) {
      if (event.type !== "KeyUsed") continue;
      const { keyId, usedAt } = event.data as EventData<"KeyUsed">;
      const at = Date.parse(usedAt);
      const key = perKey.get(keyId) ?? { count: 0, last: 0 };
      key.count++;
      key.last = Math.max(key.last, at);
      perKey.set(keyId, key);
      const bucket = `${keyId}|${Math.floor(at / MINUTE) * MINUTE}`;
      perMinute.set(bucket, (perMinute.get(bucket) ?? 0) + 1);
    }
    if (perKey.size === 0) return;
    const buckets = [...perMinute].map(([bucket, count]) => [...bucket.split("|"), count] as [string, string, number]);
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
        [...perKey.keys()],
        [...perKey.values()].map((k) => k.count),
        [...perKey.values()].map((k) => new Date(k.last).toISOString()),
        buckets.map((b) => b[0]),
        buckets.map((b) => b[1]),
        buckets.map((b) => b[2]),
      ],
    );
  },
};
