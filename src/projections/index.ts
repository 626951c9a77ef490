import type { SqlClient } from "../db/database.js";
import type { ProjectionHook, WriterProjectionHook } from "../eventstore/projection-hook.js";
import type { PendingEvent, RecordedEvent } from "../eventstore/types.js";
import { apiKeysProjection } from "./api-keys/projection.js";
import { changesLimits, keyLimitsProjection } from "./key-limits/projection.js";
import { keyUsageProjection } from "./key-usage/projection.js";
import { parseKnown, readTable, type ReadTable } from "./parsed-event.js";

/** The read tables the sealer keeps, in the order they are applied to a sealed batch. */
export const sealedTables: readonly ReadTable[] = [readTable(apiKeysProjection), readTable(keyUsageProjection)];

/** The table writers keep in their own transactions: what a verification or a credit change decides on. */
const writerTable: ReadTable = readTable(keyLimitsProjection);

/**
 * Applies the sealer's projections to a batch of newly positioned events, in the transaction that
 * positioned them: each payload is parsed (and upcast) once, each projection gets the types it handles.
 */
export async function applyProjections(tx: SqlClient, events: readonly RecordedEvent[]): Promise<void> {
  const parsed = events.flatMap((event) => parseKnown(event) ?? []);
  for (const table of sealedTables) await table.apply(tx, parsed);
}

/**
 * Applies the writers' projection (key_limits) to an append, in the writer's transaction, under the
 * locks of the keys it writes. It needs no position (0 until sealed).
 */
export const applyWriterProjections: WriterProjectionHook = Object.assign(
  async (tx: SqlClient, events: readonly PendingEvent[]): Promise<void> => {
    const parsed = events.flatMap((event) => parseKnown({ ...event, position: 0n, hash: "" }) ?? []);
    await writerTable.apply(tx, parsed);
  },
  { changes: (events: readonly PendingEvent[]) => events.some(changesLimits) },
);

/** The event store's hooks: the sealer's read tables and the writers' key limits. */
export const projections: { project: ProjectionHook; projectWriter: WriterProjectionHook } = {
  project: applyProjections,
  projectWriter: applyWriterProjections,
};
