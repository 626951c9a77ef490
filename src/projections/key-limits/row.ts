import type { SqlClient } from "../../db/database.js";
import type { Refill } from "../../domain/policies/credits.js";
import type { LimitsState } from "../../domain/policies/limits.js";
import type { Ratelimit, WindowState } from "../../domain/policies/ratelimit.js";

export interface KeyLimitsSqlRow {
  [column: string]: unknown;
  key_id: string;
  ratelimits: Ratelimit[];
  windows: Record<string, WindowState>;
  credits_remaining: string | null;
  credits_refill: Refill | null;
  last_refill_at: Date | string | null;
  forwarded_to: string | null;
}

/** Selects a key_limits row (of table alias `l`) in the shape `toLimits` maps; `prefix` names the columns apart from others. */
export const limitsColumns = (l = "key_limits", prefix = "") =>
  `${l}.key_id::text AS ${prefix}key_id, ${l}.ratelimits AS ${prefix}ratelimits, ${l}.windows AS ${prefix}windows,
   ${l}.credits_remaining::text AS ${prefix}credits_remaining, ${l}.credits_refill AS ${prefix}credits_refill,
   ${l}.last_refill_at AS ${prefix}last_refill_at, ${l}.forwarded_to::text AS ${prefix}forwarded_to`;

const COLUMNS = limitsColumns();

export function toLimits(row: KeyLimitsSqlRow): LimitsState {
  return {
    ratelimits: row.ratelimits,
    windows: row.windows,
    credits:
      row.credits_remaining === null
        ? null
        : { remaining: Number(row.credits_remaining), refill: row.credits_refill, lastRefillAt: new Date(row.last_refill_at!).getTime() },
    forwardedTo: row.forwarded_to,
  };
}

/** Rows a writer already read in its transaction, under the locks of their keys: by transaction. */
const readInTransaction = new WeakMap<SqlClient, Map<string, LimitsState>>();

/**
 * Tells `readLimits` the rows a writer read in `tx` under their keys' locks (a verification reads
 * them with the keys), so that the writers' projection in the same transaction does not read them again.
 */
export function rememberLimits(tx: SqlClient, rows: readonly KeyLimitsSqlRow[]): void {
  const known = readInTransaction.get(tx) ?? new Map<string, LimitsState>();
  for (const row of rows) known.set(row.key_id, structuredClone(toLimits(row)));
  readInTransaction.set(tx, known);
}

/** Ends what `rememberLimits` told about `tx` (a session's transactions may share one client object). */
export function forgetLimits(tx: SqlClient): void {
  readInTransaction.delete(tx);
}

/**
 * The keys' limits. Writers read them under the keys' stream locks (EventStore.lockStreams), which
 * every writer of a key's limits holds until it commits: what they read is what they decide on.
 */
export async function readLimits(tx: SqlClient, keyIds: readonly string[]): Promise<Map<string, LimitsState>> {
  const accounts = new Map<string, LimitsState>();
  const known = readInTransaction.get(tx);
  const missing: string[] = [];
  for (const id of new Set(keyIds)) {
    const state = known?.get(id);
    if (state) accounts.set(id, structuredClone(state));
    else missing.push(id);
  }
  if (missing.length === 0) return accounts;
  const { rows } = await tx.query<KeyLimitsSqlRow>(`SELECT ${COLUMNS} FROM key_limits WHERE key_id = ANY($1::uuid[])`, [missing]);
  for (const row of rows) accounts.set(row.key_id, toLimits(row));
  return accounts;
}

/**
 * Writes whole rows (new or changed) into the live table, in one statement; `bulkInto` instead
 * inserts into an empty table of that schema (a rebuild, or a replay's scratch copy).
 */
export async function writeLimits(tx: SqlClient, accounts: ReadonlyMap<string, LimitsState>, bulkInto?: "public" | "pg_temp"): Promise<void> {
  if (accounts.size === 0) return;
  const known = bulkInto ? undefined : readInTransaction.get(tx);
  for (const [id, state] of accounts) known?.set(id, structuredClone(state));
  const entries = [...accounts];
  await tx.query(
    `INSERT INTO ${bulkInto ?? "public"}.key_limits (key_id, ratelimits, windows, credits_remaining, credits_refill, last_refill_at, forwarded_to)
     SELECT * FROM unnest($1::uuid[], $2::jsonb[], $3::jsonb[], $4::bigint[], $5::jsonb[], $6::timestamptz[], $7::uuid[])
     ${
       bulkInto
         ? ""
         : `ON CONFLICT (key_id) DO UPDATE SET ratelimits = EXCLUDED.ratelimits, windows = EXCLUDED.windows,
        credits_remaining = EXCLUDED.credits_remaining, credits_refill = EXCLUDED.credits_refill,
        last_refill_at = EXCLUDED.last_refill_at, forwarded_to = EXCLUDED.forwarded_to`
     }`,
    [
      entries.map(([id]) => id),
      entries.map(([, s]) => JSON.stringify(s.ratelimits)),
      entries.map(([, s]) => JSON.stringify(s.windows)),
      entries.map(([, s]) => s.credits?.remaining ?? null),
      entries.map(([, s]) => (s.credits?.refill ? JSON.stringify(s.credits.refill) : null)),
      entries.map(([, s]) => (s.credits ? new Date(s.credits.lastRefillAt).toISOString() : null)),
      entries.map(([, s]) => s.forwardedTo),
    ],
  );
}
