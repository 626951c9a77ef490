/** Who caused an event and through which request; stored with every event, never a secret. */
export interface EventMetadata {
  actorId?: string;
  actorRole?: string;
  requestId?: string;
  [key: string]: unknown;
}

export type JsonObject = { [key: string]: unknown };

export interface NewEvent {
  /** Supply one to make the append idempotent across retries; generated otherwise. */
  eventId?: string;
  type: string;
  schemaVersion: number;
  data: JsonObject;
  occurredAt?: Date;
}

/** An event as its writer appends it (and writer projections see it): everything but its place in the global log. */
export interface PendingEvent {
  eventId: string;
  streamId: string;
  /** Null for facts appended with ANY_VERSION: they take a global position only. */
  streamVersion: number | null;
  type: string;
  schemaVersion: number;
  data: JsonObject;
  metadata: EventMetadata;
  occurredAt: Date;
}

export interface RecordedEvent extends PendingEvent {
  /** Dense, strictly increasing in commit order; 64-bit. */
  position: bigint;
  /** SHA-256 chain hash: covers the previous event's hash and this event's canonical content. */
  hash: string;
}

/**
 * `ANY_VERSION` appends facts (such as KeyUsed) that never conflict: they are not part of
 * the stream's version sequence. A number is the version the decision was made on (0: new stream).
 */
export const ANY_VERSION = "any" as const;
export type ExpectedVersion = number | typeof ANY_VERSION;

export interface AppendRequest {
  streamId: string;
  expectedVersion: ExpectedVersion;
  events: NewEvent[];
  metadata: EventMetadata;
}

export interface LogHead {
  position: bigint;
  hash: string;
}
