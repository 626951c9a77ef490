import type { SqlClient } from "../db/database.js";
import { EVENT_COLUMNS, toRecordedEvent, type EventRow } from "./rows.js";
import type { RecordedEvent } from "./types.js";

export interface LogFilter {
  streamId?: string;
  types?: string[];
  since?: Date;
  until?: Date;
  /** Only the events of this owner's keys (ownership from the api_keys projection). */
  ownerId?: string;
}

/** A page of the log in position order, filtered for readers of the events API. */
export async function readLogFiltered(sql: SqlClient, after: bigint, limit: number, filter: LogFilter): Promise<RecordedEvent[]> {
  const { rows } = await sql.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM events
      WHERE events.position > $1
        AND ($2::text IS NULL OR stream_id = $2)
        AND ($3::text[] IS NULL OR type = ANY($3::text[]))
        AND ($4::timestamptz IS NULL OR occurred_at >= $4)
        AND ($5::timestamptz IS NULL OR occurred_at < $5)
        AND ($6::text IS NULL OR stream_id IN (SELECT id::text FROM api_keys WHERE owner_id = $6))
      ORDER BY events.position
      LIMIT $7`,
    [
      after.toString(),
      filter.streamId ?? null,
      filter.types ?? null,
      filter.since?.toISOString() ?? null,
      filter.until?.toISOString() ?? null,
      filter.ownerId ?? null,
      limit,
    ],
  );
  return rows.map(toRecordedEvent);
}
