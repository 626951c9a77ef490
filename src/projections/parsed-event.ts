import { EVENT_TYPES, parseEvent, type EventData, type EventType } from "../domain/events.js";
import type { SqlClient } from "../db/database.js";
import type { RecordedEvent } from "../eventstore/types.js";

/** A recorded event whose payload was parsed (and upcast) by the domain: `data` has its current shape. */
type AnyParsedEvent = { [K in EventType]: Omit<RecordedEvent, "type" | "data"> & { type: K; data: EventData<K> } }[EventType];
export type ParsedEvent<T extends EventType = EventType> = Extract<AnyParsedEvent, { type: T }>;

export function parseRecorded(event: RecordedEvent): ParsedEvent {
  return { ...event, ...parseEvent(event.type, event.schemaVersion, event.data) };
}

const DOMAIN_TYPES: ReadonlySet<string> = new Set(EVENT_TYPES);

/**
 * The event parsed, or undefined for a type the domain does not define: the log is open to other
 * streams, and no projection handles those. A domain type whose payload fails its schema throws.
 */
export function parseKnown(event: RecordedEvent): ParsedEvent | undefined {
  return DOMAIN_TYPES.has(event.type) ? parseRecorded(event) : undefined;
}

/** The event parsed as `type`, or undefined when it is another type. */
export function recordedAs<T extends EventType>(event: RecordedEvent, type: T): ParsedEvent<T> | undefined {
  if (event.type !== type) return undefined;
  const parsed = parseRecorded(event);
  return isType(parsed, [type]) ? parsed : undefined;
}

export function isType<T extends EventType>(event: ParsedEvent, types: readonly T[]): event is ParsedEvent<T> {
  return (types as readonly EventType[]).includes(event.type);
}

/** A read table kept from the log: it declares the event types it handles and receives only those, parsed. */
export interface Projection<T extends EventType = EventType> {
  readonly name: string;
  readonly handles: readonly T[];
  apply(tx: SqlClient, events: readonly ParsedEvent<T>[]): Promise<void>;
}

/** A projection that accepts any parsed batch and applies itself to the events it handles, in order. */
export interface ReadTable {
  readonly name: string;
  apply(tx: SqlClient, events: readonly ParsedEvent[]): Promise<void>;
}

export function readTable<T extends EventType>(projection: Projection<T>): ReadTable {
  return {
    name: projection.name,
    async apply(tx, events) {
      const handled = events.filter((event): event is ParsedEvent<T> => isType(event, projection.handles));
      if (handled.length > 0) await projection.apply(tx, handled);
    },
  };
}
