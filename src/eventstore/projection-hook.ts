import type { SqlClient } from "../db/database.js";
import type { PendingEvent, RecordedEvent } from "./types.js";

/**
 * What the sealer calls in the transaction that gives a batch its positions: it sees the events
 * with their positions and hashes, and if it throws nothing of the batch is sealed (the sealer retries).
 */
export type ProjectionHook = (tx: SqlClient, events: readonly RecordedEvent[]) => Promise<void>;

/**
 * What a writer calls in its own transaction, after inserting its events and before its commit:
 * the state its next decision depends on (a key's credits and rate-limit windows). It runs under
 * the locks of the streams it writes, sees the events without positions, and if it throws nothing
 * of the append is written.
 */
export interface WriterProjectionHook {
  (tx: SqlClient, events: readonly PendingEvent[]): Promise<void>;
  /** Whether applying `events` would change anything: facts that change nothing are appended in one statement, outside a transaction. */
  changes(events: readonly PendingEvent[]): boolean;
}
