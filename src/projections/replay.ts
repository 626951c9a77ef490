import type { SqlClient } from "../db/database.js";
import { LOG_PAGE_SIZE, readLogPage } from "../eventstore/log-reader.js";
import type { RecordedEvent } from "../eventstore/types.js";
import { projections } from "./index.js";

/** The tables the projections write; a replay builds scratch copies of exactly these. */
export const PROJECTION_TABLES = ["api_keys", "key_usage"] as const;

const PAGE = LOG_PAGE_SIZE;

/**
 * Temporary tables shaped like the live ones. PostgreSQL looks in pg_temp before public, so the
 * projections' own unqualified SQL writes into them: a replay runs the very code the live
 * tables were built with. They vanish with the transaction.
 */
export async function createScratchTables(tx: SqlClient): Promise<void> {
  for (const table of PROJECTION_TABLES) {
    await tx.exec(`CREATE TEMP TABLE ${table} (LIKE public.${table} INCLUDING ALL) ON COMMIT DROP`);
  }
}

export async function applyProjections(tx: SqlClient, events: readonly RecordedEvent[]): Promise<void> {
  for (const projection of projections) await projection.apply(tx, events);
}

/** Replays the log as `tx` sees it, after `after` and up to `upTo`, into the (scratch) tables. Returns the last position applied. */
export async function replayLog(tx: SqlClient, options: { after?: bigint; upTo?: bigint } = {}): Promise<bigint> {
  let position = options.after ?? 0n;
  for (;;) {
    let page = await readLogPage(tx, position, PAGE);
    if (options.upTo !== undefined) page = page.filter((e) => e.position <= options.upTo!);
    if (page.length === 0) return position;
    await applyProjections(tx, page);
    position = page.at(-1)!.position;
    if (page.length < PAGE) return position;
  }
}

/** Replays events from any source (an export file, say) in pages. */
export async function replayEvents(tx: SqlClient, source: AsyncIterable<RecordedEvent>): Promise<{ position: bigint; count: number }> {
  let page: RecordedEvent[] = [];
  let position = 0n;
  let count = 0;
  for await (const event of source) {
    page.push(event);
    if (page.length === PAGE) {
      await applyProjections(tx, page);
      page = [];
    }
    position = event.position;
    count++;
  }
  if (page.length > 0) await applyProjections(tx, page);
  return { position, count };
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
