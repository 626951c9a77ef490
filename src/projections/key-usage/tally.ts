import type { ParsedEvent } from "../parsed-event.js";

export const MINUTE_MS = 60_000;

/** The outcome columns of a usage bucket: `valid` is KeyUsed, the others KeyDenied by code. */
export const OUTCOMES = ["valid", "rateLimited", "usageExceeded", "denied"] as const;
export type Outcome = (typeof OUTCOMES)[number];

export type OutcomeCounts = Record<Outcome, number>;
const zero = (): OutcomeCounts => ({ valid: 0, rateLimited: 0, usageExceeded: 0, denied: 0 });

export type UsageEvent = ParsedEvent<"KeyUsed" | "KeyDenied">;

export function outcomeOf(event: UsageEvent): Outcome {
  if (event.type === "KeyUsed") return "valid";
  if (event.data.code === "RATE_LIMITED") return "rateLimited";
  if (event.data.code === "USAGE_EXCEEDED") return "usageExceeded";
  return "denied";
}

/**
 * Verification outcomes per key and minute, accepted uses per key (with the latest use), and the
 * credit balance each use left on its account. The live projection tallies one batch, the replay
 * the whole log; either writes each key and each bucket once.
 */
export class UsageTally {
  readonly perKey = new Map<string, { count: number; last: number }>();
  readonly perMinute = new Map<string, Map<number, OutcomeCounts>>();
  /** Account key → credits left after its latest use, in log order. */
  readonly balances = new Map<string, number>();

  add(event: UsageEvent): void {
    const { keyId } = event.data;
    const usedAt = Date.parse(event.data.usedAt);
    const outcome = outcomeOf(event);
    if (event.type === "KeyUsed") {
      const key = this.perKey.get(keyId);
      if (key) {
        key.count++;
        if (usedAt > key.last) key.last = usedAt;
      } else {
        this.perKey.set(keyId, { count: 1, last: usedAt });
      }
      if (event.data.remaining !== null) this.balances.set(event.data.limitsOf ?? keyId, event.data.remaining);
    }
    const minute = usedAt - (((usedAt % MINUTE_MS) + MINUTE_MS) % MINUTE_MS);
    let minutes = this.perMinute.get(keyId);
    if (!minutes) this.perMinute.set(keyId, (minutes = new Map()));
    let counts = minutes.get(minute);
    if (!counts) minutes.set(minute, (counts = zero()));
    counts[outcome]++;
  }

  /** The minute buckets as column arrays: key ids, bucket starts (ms), a count array per outcome. */
  buckets(): { keyIds: string[]; minutes: number[] } & Record<Outcome, number[]> {
    const columns = { keyIds: [] as string[], minutes: [] as number[], valid: [] as number[], rateLimited: [] as number[], usageExceeded: [] as number[], denied: [] as number[] };
    for (const [keyId, perMinute] of this.perMinute) {
      for (const [minute, counts] of perMinute) {
        columns.keyIds.push(keyId);
        columns.minutes.push(minute);
        for (const outcome of OUTCOMES) columns[outcome].push(counts[outcome]);
      }
    }
    return columns;
  }
}

/** INSERT of bucket column arrays ($1 key ids, $2 minutes, $3–$6 outcome counts) into `table`. */
export const INSERT_BUCKETS = (table: string) => `INSERT INTO ${table} (key_id, bucket_start, count, rate_limited, usage_exceeded, denied)
  SELECT b.key_id, to_timestamp(b.minute / 1000.0), b.valid, b.rate_limited, b.usage_exceeded, b.denied
    FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])
      AS b(key_id, minute, valid, rate_limited, usage_exceeded, denied)`;
