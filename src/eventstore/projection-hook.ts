import type { SqlClient } from "../db/database.js";
import type { RecordedEvent } from "./types.js";

/**
 * Runs inside the append's transaction, under the append lock, after the events are inserted:
 * it sees their positions, and if it throws nothing of the append is written.
 */
export interface InlineProjection {
  readonly name: string;
  apply(tx: SqlClient, events: readonly RecordedEvent[]): Promise<void>;
}
