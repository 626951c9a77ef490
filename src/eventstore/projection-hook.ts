import type { SqlClient } from "../db/database.js";
import type { RecordedEvent } from "./types.js";

/**
 * What the sealer calls in the transaction that gives a batch its positions: it sees the events
 * with their positions and hashes, and if it throws nothing of the batch is sealed (the sealer retries).
 */
export type ProjectionHook = (tx: SqlClient, events: readonly RecordedEvent[]) => Promise<void>;

/** One read table's share of the hook. */
export interface InlineProjection {
  readonly name: string;
  apply(tx: SqlClient, events: readonly RecordedEvent[]): Promise<void>;
}

export function hookOf(projections: readonly InlineProjection[]): ProjectionHook {
  return async (tx, events) => {
    for (const projection of projections) await projection.apply(tx, events);
  };
}
