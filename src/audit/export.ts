import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { SqlClient } from "../db/database.js";
import { LOG_PAGE_SIZE, readHead } from "../eventstore/log-reader.js";
import { EVENT_COLUMNS, toRecordedEvent, type EventRow } from "../eventstore/rows.js";
import type { RecordedEvent } from "../eventstore/types.js";
import { readCheckpointsFromDatabase } from "./checkpoints.js";
import { checkpointToNdjson, eventToNdjson } from "./ndjson.js";

export interface ExportOptions {
  /** Only the events of these streams (key ids): an owner's export. Such an export cannot be chain-verified. */
  filter?: { streamIds: Iterable<string> };
  /** Last position to export; default: the head when the export starts, so an export is a fixed snapshot. */
  upTo?: bigint;
  pageSize?: number;
}

export interface ExportResult {
  eventsWritten: bigint;
  /** Position of the last event written (`afterPosition` when none was). */
  lastPosition: bigint;
}

/**
 * Writes the events after `afterPosition` to `writable` as NDJSON (see ndjson.ts). Pages are read
 * only as fast as `writable` drains (backpressure through pipeline), so memory stays flat.
 * Does not end `writable`; on a write error it is destroyed and the error is thrown.
 */
export async function exportNdjson(
  db: SqlClient,
  afterPosition: bigint,
  writable: Writable,
  options: ExportOptions = {},
): Promise<ExportResult> {
  const pageSize = options.pageSize ?? LOG_PAGE_SIZE;
  const upTo = options.upTo ?? (await readHead(db)).position;
  const streamIds = options.filter ? [...new Set(options.filter.streamIds)] : null;
  const result: ExportResult = { eventsWritten: 0n, lastPosition: afterPosition };
  if (streamIds?.length === 0) return result;

  async function* lines(): AsyncGenerator<string> {
    let after = afterPosition;
    for (;;) {
      const page = await readPage(db, after, upTo, streamIds, pageSize);
      for (const event of page) {
        yield eventToNdjson(event);
        result.eventsWritten++;
        result.lastPosition = event.position;
      }
      if (page.length < pageSize) return;
      after = page.at(-1)!.position;
    }
  }
  await pipeline(Readable.from(lines()), writable, { end: false });
  return result;
}

/** Writes every checkpoint as NDJSON, for verifying an export away from the database. Does not end `writable`. */
export async function exportCheckpointsNdjson(db: SqlClient, writable: Writable): Promise<void> {
  async function* lines(): AsyncGenerator<string> {
    for await (const checkpoint of readCheckpointsFromDatabase(db)) yield checkpointToNdjson(checkpoint);
  }
  await pipeline(Readable.from(lines()), writable, { end: false });
}

/** The ids of an owner's keys, which are also the ids of their event streams. */
export async function ownerStreamIds(db: SqlClient, ownerId: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(`SELECT id::text AS id FROM api_keys WHERE owner_id = $1`, [ownerId]);
  return rows.map((row) => row.id);
}

async function readPage(
  db: SqlClient,
  after: bigint,
  upTo: bigint,
  streamIds: string[] | null,
  limit: number,
): Promise<RecordedEvent[]> {
  const { rows } = await db.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM events
      WHERE events.position > $1 AND events.position <= $2
        AND ($3::text[] IS NULL OR stream_id = ANY($3::text[]))
      ORDER BY events.position
      LIMIT $4`,
    [after.toString(), upTo.toString(), streamIds, limit],
  );
  return rows.map(toRecordedEvent);
}
