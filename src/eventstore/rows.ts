import type { EventMetadata, RecordedEvent } from "./types.js";

/** The columns of the `events` view (sealed events), as `toRecordedEvent` reads them. */
export const EVENT_COLUMNS = `position::text AS position, event_id, stream_id, stream_version, type, schema_version,
  data, metadata, occurred_at, hash`;

/** The same columns read from the tables behind the view: `event_records r` joined to `event_seals s`. */
export const SEALED_RECORD_COLUMNS = `s.position::text AS position, r.event_id, r.stream_id, r.stream_version, r.type,
  r.schema_version, r.data, r.metadata, r.occurred_at, s.hash`;

/** A written event's columns (`event_records`), before it is sealed. */
export interface RecordRow {
  [key: string]: unknown;
  event_id: string;
  stream_id: string;
  stream_version: number | null;
  type: string;
  schema_version: number;
  data: Record<string, unknown>;
  metadata: EventMetadata;
  occurred_at: Date | string;
}

export interface EventRow extends RecordRow {
  position: string;
  hash: string;
}

export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    position: BigInt(row.position),
    eventId: row.event_id,
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    type: row.type,
    schemaVersion: row.schema_version,
    data: row.data,
    metadata: row.metadata,
    occurredAt: row.occurred_at instanceof Date ? row.occurred_at : new Date(row.occurred_at),
    hash: row.hash,
  };
}
