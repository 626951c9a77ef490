import type { SqlClient } from "../db/database.js";
import { GENESIS_HASH } from "./hash-chain.js";
import { EVENT_COLUMNS, toRecordedEvent, type EventRow } from "./rows.js";
import type { LogHead, RecordedEvent } from "./types.js";

/** Events read per page by every reader that walks the log (replay, audit, export, subscriptions' history). */
export const LOG_PAGE_SIZE = 5_000;

/** The log in position order after `after` (up to `upTo`), read in pages so memory stays flat however long it is. */
export async function* readLog(
  sql: SqlClient,
  options: { after?: bigint; upTo?: bigint; pageSize?: number } = {},
): AsyncGenerator<RecordedEvent> {
  const pageSize = options.pageSize ?? LOG_PAGE_SIZE;
  let after = options.after ?? 0n;
  for (;;) {
    const page = await readLogPage(sql, after, pageSize);
    for (const event of page) {
      if (options.upTo !== undefined && event.position > options.upTo) return;
      yield event;
    }
    if (page.length < pageSize) return;
    after = page.at(-1)!.position;
  }
}

/** A page of the log read through `sql`: a pool, or a transaction whose snapshot it should see. */
export async function readLogPage(sql: SqlClient, afterPosition: bigint, limit: number): Promise<RecordedEvent[]> {
  const { rows } = await sql.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM events WHERE events.position > $1 ORDER BY events.position LIMIT $2`,
    [afterPosition.toString(), limit],
  );
  return rows.map(toRecordedEvent);
}

export async function readHead(sql: SqlClient): Promise<LogHead> {
  const { rows } = await sql.query<{ position: string; hash: string }>(
    "SELECT position::text AS position, hash FROM events ORDER BY events.position DESC LIMIT 1",
  );
  const row = rows[0];
  return row ? { position: BigInt(row.position), hash: row.hash } : { position: 0n, hash: GENESIS_HASH };
}
