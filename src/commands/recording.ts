import { CURRENT_SCHEMA_VERSION, type DomainEvent } from "../domain/events.js";
import type { EventMetadata, NewEvent } from "../eventstore/types.js";
import type { Caller } from "./api-keys.js";

/** How the domain's events and their cause are written to the log. */

/** Who caused an event: the caller's id, its roles (sorted, comma-joined) and the request id. */
export function metadataOf(caller: Caller): EventMetadata {
  return { actorId: caller.viewer.userId, actorRole: [...caller.viewer.roles].sort().join(","), requestId: caller.requestId };
}

/** A domain event as the store appends it, at its type's current schema version. */
export function toNewEvent(event: DomainEvent): NewEvent {
  return { type: event.type, schemaVersion: CURRENT_SCHEMA_VERSION[event.type], data: event.data };
}
