import { createHash } from "node:crypto";
import canonicalize from "canonicalize";
import type { RecordedEvent } from "./types.js";

export const GENESIS_HASH = "0".repeat(64);

type Hashable = Omit<RecordedEvent, "hash">;

/** An event as plain JSON values (64-bit position as a string, time as ISO): what the hash covers and exports carry. */
export function eventContent(event: Hashable) {
  return {
    position: event.position.toString(),
    eventId: event.eventId,
    streamId: event.streamId,
    streamVersion: event.streamVersion,
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.data,
    metadata: event.metadata,
    occurredAt: event.occurredAt.toISOString(),
  };
}

/** RFC 8785 canonical JSON of everything an event says, so any alteration changes its hash. */
export function canonicalContent(event: Hashable): string {
  return canonicalize(eventContent(event))!;
}

export function chainHash(previousHash: string, event: Hashable): string {
  return createHash("sha256").update(previousHash).update("\n").update(canonicalContent(event)).digest("hex");
}
