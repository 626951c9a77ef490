import type { SqlClient } from "../db/database.js";
import { readLog } from "../eventstore/log-reader.js";
import { toRecordedEvent, type EventRow } from "../eventstore/rows.js";
import type { RecordedEvent } from "../eventstore/types.js";
import { foldLimits, type LimitsState } from "../domain/policies/limits.js";
import { foldKeys, KEY_DECISIONS } from "./api-keys/fold.js";
import { API_KEY_INSERT, apiKeyInsertParams, type ApiKey } from "./api-keys/row.js";
import { LIMIT_EVENTS } from "./key-limits/projection.js";
import { writeLimits } from "./key-limits/row.js";
import { INSERT_BUCKETS, UsageTally } from "./key-usage/tally.js";
import { isType, parseKnown } from "./parsed-event.js";

/** The tables the projections write; a replay builds scratch copies of exactly these. */
export const PROJECTION_TABLES = ["api_keys", "key_usage", "key_limits"] as const;

/** Rows per bulk INSERT … unnest(…): large enough to amortise, small enough for one message. */
const WRITE_CHUNK = 20_000;

/**
 * The read tables folded in memory: every key's row and its uses per key and minute. A replay
 * applies the whole log here and writes each row once at the end; nothing is upserted per event.
 */
export class ReplayState {
  readonly keys = new Map<string, ApiKey>();
  readonly usage = new UsageTally();
  readonly limits = new Map<string, LimitsState>();
  position = 0n;
  count = 0;

  apply(event: RecordedEvent): void {
    const parsed = parseKnown(event);
    if (parsed) {
      if (parsed.type === "KeyUsed" || parsed.type === "KeyDenied") this.usage.add(parsed);
      if (parsed.type === "KeyUsed" && parsed.data.remaining !== null) this.setBalance(parsed.data.limitsOf ?? parsed.data.keyId, parsed.data.remaining);
      if (isType(parsed, KEY_DECISIONS)) foldKeys(this.keys, parsed);
      if (isType(parsed, LIMIT_EVENTS)) foldLimits(this.limits, parsed, parsed.occurredAt.getTime());
    }
    this.position = event.position;
    this.count++;
  }

  /**
   * A committed event the sealer has not positioned yet: writers keep key_limits in their own
   * transactions, so it is already in that table, and only there.
   */
  applyToLimitsOnly(event: RecordedEvent): void {
    const parsed = parseKnown(event);
    if (parsed && isType(parsed, LIMIT_EVENTS)) foldLimits(this.limits, parsed, parsed.occurredAt.getTime());
  }

  /** A use's balance lands on the key row in log order, between the decisions that also set it. */
  private setBalance(keyId: string, remaining: number): void {
    const row = this.keys.get(keyId);
    if (row) this.keys.set(keyId, { ...row, creditsRemaining: BigInt(remaining) });
  }

  /** The api_keys rows with their usage columns filled from the tally. */
  keyRows(): ApiKey[] {
    return [...this.keys.values()].map((key) => {
      const used = this.usage.perKey.get(key.id);
      return used ? { ...key, usageCount: BigInt(used.count), lastUsedAt: new Date(used.last) } : key;
    });
  }
}

/** Folds the log after `state.position` into `state`, page by page, as `sql` sees it. Reads only. */
export async function foldLog(sql: SqlClient, state: ReplayState): Promise<void> {
  for await (const event of readLog(sql, { after: state.position })) state.apply(event);
}

/**
 * Folds into `state.limits` the events committed but not sealed as `sql` sees them, in the order
 * the sealer will give them (within one key that is the order its writers decided in), so that
 * the folded key_limits match the live table at the same snapshot.
 */
export async function foldUnsealedLimits(sql: SqlClient, state: ReplayState): Promise<void> {
  const { rows } = await sql.query<EventRow>(
    `SELECT '0' AS position, r.event_id, r.stream_id, r.stream_version, r.type, r.schema_version, r.data, r.metadata, r.occurred_at, '' AS hash
       FROM event_records r
      WHERE r.txid >= (SELECT cursor_txid FROM log_seal) AND NOT EXISTS (SELECT 1 FROM event_seals s WHERE s.seq = r.seq)
      ORDER BY r.txid, r.seq`,
  );
  for (const row of rows) state.applyToLimitsOnly(toRecordedEvent(row));
}

/** Folds events from any source (an export file, say). */
export async function foldEvents(source: AsyncIterable<RecordedEvent> | Iterable<RecordedEvent>, state: ReplayState): Promise<void> {
  for await (const event of source) state.apply(event);
}

/**
 * Temporary tables shaped like the live ones, without their indexes (a bulk load needs none, the
 * comparison hashes). They vanish with the transaction. They shadow the live tables' names, but a
 * statement prepared earlier on the connection still reads the live ones: name the schema
 * (`pg_temp.` or `public.`) in every statement of the transaction.
 */
export async function createScratchTables(tx: SqlClient): Promise<void> {
  for (const table of PROJECTION_TABLES) {
    await tx.exec(`CREATE TEMP TABLE ${table} (LIKE public.${table} INCLUDING DEFAULTS) ON COMMIT DROP`);
  }
}

/** Writes the folded rows in bulk into `schema`'s tables (empty ones: the live tables after a DELETE, or scratch tables). */
export async function writeState(tx: SqlClient, state: ReplayState, schema: "public" | "pg_temp"): Promise<void> {
  const keys = state.keyRows();
  const insertKeys = API_KEY_INSERT.replace("INSERT INTO api_keys", `INSERT INTO ${schema}.api_keys`);
  for (let i = 0; i < keys.length; i += WRITE_CHUNK) {
    await tx.query(insertKeys, apiKeyInsertParams(keys.slice(i, i + WRITE_CHUNK)));
  }
  const buckets = state.usage.buckets();
  const columns = [buckets.keyIds, buckets.minutes, buckets.valid, buckets.rateLimited, buckets.usageExceeded, buckets.denied];
  for (let i = 0; i < buckets.keyIds.length; i += WRITE_CHUNK) {
    await tx.query(INSERT_BUCKETS(`${schema}.key_usage`), columns.map((column) => column.slice(i, i + WRITE_CHUNK)));
  }
  const accounts = [...state.limits];
  for (let i = 0; i < accounts.length; i += WRITE_CHUNK) await writeLimits(tx, new Map(accounts.slice(i, i + WRITE_CHUNK)), schema);
}

export interface TableDifference {
  table: string;
  /** Rows the live table has and the replay does not (or has differently). */
  onlyLive: Record<string, unknown>[];
  /** Rows the replay produced and the live table lacks (or has differently). */
  onlyReplayed: Record<string, unknown>[];
}

/** Compares scratch tables with the live ones, row for row. */
export async function compareWithLive(tx: SqlClient, limit = 20): Promise<TableDifference[]> {
  const differences: TableDifference[] = [];
  for (const table of PROJECTION_TABLES) {
    const onlyLive = await tx.query(`SELECT * FROM public.${table} EXCEPT SELECT * FROM pg_temp.${table} LIMIT ${limit}`);
    const onlyReplayed = await tx.query(`SELECT * FROM pg_temp.${table} EXCEPT SELECT * FROM public.${table} LIMIT ${limit}`);
    if (onlyLive.rows.length > 0 || onlyReplayed.rows.length > 0) {
      differences.push({ table, onlyLive: onlyLive.rows, onlyReplayed: onlyReplayed.rows });
    }
  }
  return differences;
}
