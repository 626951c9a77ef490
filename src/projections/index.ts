import type { SqlClient } from "../db/database.js";
import type { InlineProjection } from "../eventstore/projection-hook.js";
import type { RecordedEvent } from "../eventstore/types.js";
import { apiKeysProjection } from "./api-keys/projection.js";
import { keyLimitsProjection } from "./key-limits/projection.js";
import { keyUsageProjection } from "./key-usage/projection.js";
import { parseKnown, readTable, type ReadTable } from "./parsed-event.js";

/** Every read table, in the order they are applied to a batch. */
export const readTables: readonly ReadTable[] = [readTable(apiKeysProjection), readTable(keyUsageProjection), readTable(keyLimitsProjection)];

/**
 * Applies every projection to a batch of newly positioned events, in the transaction that
 * positioned them: each payload is parsed (and upcast) once, each projection gets the types it handles.
 */
export async function applyProjections(tx: SqlClient, events: readonly RecordedEvent[]): Promise<void> {
  const parsed = events.flatMap((event) => parseKnown(event) ?? []);
  for (const table of readTables) await table.apply(tx, parsed);
}

/** The read tables as the event store's inline projection: one, so that each payload is parsed once. */
export const projections: InlineProjection[] = [{ name: "read tables", apply: applyProjections }];
