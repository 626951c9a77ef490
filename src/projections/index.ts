import type { SqlClient } from "../db/database.js";
import type { InlineProjection } from "../eventstore/event-store.js";
import type { RecordedEvent } from "../eventstore/types.js";
import { apiKeysProjection } from "./api-keys/projection.js";
import { keyUsageProjection } from "./key-usage/projection.js";
import { parseKnown, readTable, type ParsedEvent, type ReadTable } from "./parsed-event.js";

/** Every read table, in the order they are applied to a batch. */
export const readTables: readonly ReadTable[] = [readTable(apiKeysProjection), readTable(keyUsageProjection)];

/**
 * Applies every projection to a batch of newly positioned events, in the transaction that
 * positioned them: each payload is parsed (and upcast) once, each projection gets the types it handles.
 */
export async function applyProjections(tx: SqlClient, events: readonly RecordedEvent[]): Promise<void> {
  const parsed = parseAll(events);
  for (const table of readTables) await table.apply(tx, parsed);
}

function parseAll(events: readonly RecordedEvent[]): ParsedEvent[] {
  return events.flatMap((event) => parseKnown(event) ?? []);
}

/** The read tables as the event store's inline projections (one per table, so benchmarks can time each). */
export const projections: InlineProjection[] = readTables.map((table) => ({
  name: table.name,
  apply: (tx, events) => table.apply(tx, parseAll(events)),
}));
