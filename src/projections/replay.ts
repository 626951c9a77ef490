import type { SqlClient } from "../db/database.js";
import { readLog } from "../eventstore/log-reader.js";
import type { RecordedEvent } from "../eventstore/types.js";
import { foldKey } from "./api-keys/fold.js";
import { API_KEY_INSERT, apiKeyInsertParams, type ApiKey } from "./api-keys/row.js";
import { UsageTally } from "./key-usage/tally.js";
import { parseKnown } from "./parsed-event.js";

/** The tables the projections write; a replay builds scratch copies of exactly these. */
export const PROJECTION_TABLES = ["api_keys", "key_usage"] as const;

/** Rows per bulk INSERT … unnest(…): large enough to amortise, small enough for one message. */
const WRITE_CHUNK = 20_000;

/**
 * The read tables folded in memory: every key's row and its uses per key and minute. A replay
 * applies the whole log here and writes each row once at the end; nothing is upserted per event.
 */
export class ReplayState {
  readonly keys = new Map<string, ApiKey>();
  readonly usage = new UsageTally();
  position = 0n;
  count = 0;

  apply(event: RecordedEvent): void {
    const parsed = parseKnown(event);
    if (parsed?.type === "KeyUsed") {
      this.usage.add(parsed.data.keyId, Date.parse(parsed.data.usedAt));
    } else if (parsed) {
      const row = foldKey(this.keys.get(parsed.data.keyId), parsed);
      if (row) this.keys.set(row.id, row);
    }
    this.position = event.position;
    this.count++;
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

/** Folds events from any source (an export file, say). */
export async function foldEvents(source: AsyncIterable<RecordedEvent> | Iterable<RecordedEvent>, state: ReplayState): Promise<void> {
  for await (const event of source) state.apply(event);
}

/**
 * Temporary tables shaped like the live ones, without their indexes (a bulk load needs none, the
 * comparison hashes). They vanish with the transaction.
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
  const { keyIds, minutes, counts } = state.usage.buckets();
  for (let i = 0; i < keyIds.length; i += WRITE_CHUNK) {
    await tx.query(
      `INSERT INTO ${schema}.key_usage (key_id, bucket_start, count)
       SELECT b.key_id, to_timestamp(b.minute / 1000.0), b.n FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS b(key_id, minute, n)`,
      [keyIds.slice(i, i + WRITE_CHUNK), minutes.slice(i, i + WRITE_CHUNK), counts.slice(i, i + WRITE_CHUNK)],
    );
  }
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
