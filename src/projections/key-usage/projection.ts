import type { Projection } from "../parsed-event.js";
import { INSERT_BUCKETS, UsageTally } from "./tally.js";

/**
 * KeyUsed and KeyDenied → per-minute outcome buckets in key_usage; KeyUsed → api_keys.usage_count,
 * last_used_at and the credit balance the use left. A whole batch costs one statement: counts are
 * summed per key and minute first. (A batch's refills come before its uses: the api_keys
 * projection, applied first, writes them, and the balances here are the batch's last word.)
 */
export const keyUsageProjection: Projection<"KeyUsed" | "KeyDenied"> = {
  name: "key_usage",
  handles: ["KeyUsed", "KeyDenied"],
  async apply(tx, events) {
    const tally = new UsageTally();
    for (const event of events) tally.add(event);
    const b = tally.buckets();
    // One UPDATE per row: two CTEs updating one row in a statement would lose one of the writes.
    const ids = [...new Set([...tally.perKey.keys(), ...tally.balances.keys()])];
    await tx.query(
      `WITH used AS (
         UPDATE api_keys AS k
            SET usage_count = k.usage_count + u.n,
                last_used_at = GREATEST(k.last_used_at, u.last),
                credits_remaining = COALESCE(u.remaining, k.credits_remaining)
           FROM unnest($7::uuid[], $8::bigint[], $9::timestamptz[], $10::bigint[]) AS u(id, n, last, remaining)
          WHERE k.id = u.id
          RETURNING 1)
       ${INSERT_BUCKETS("key_usage")}
       ON CONFLICT (key_id, bucket_start) DO UPDATE SET count = key_usage.count + EXCLUDED.count,
          rate_limited = key_usage.rate_limited + EXCLUDED.rate_limited,
          usage_exceeded = key_usage.usage_exceeded + EXCLUDED.usage_exceeded, denied = key_usage.denied + EXCLUDED.denied`,
      [
        b.keyIds,
        b.minutes,
        b.valid,
        b.rateLimited,
        b.usageExceeded,
        b.denied,
        ids,
        ids.map((id) => tally.perKey.get(id)?.count ?? 0),
        ids.map((id) => {
          const last = tally.perKey.get(id)?.last;
          return last === undefined ? null : new Date(last).toISOString();
        }),
        ids.map((id) => tally.balances.get(id) ?? null),
      ],
    );
  },
};
