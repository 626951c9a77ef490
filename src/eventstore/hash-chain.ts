import { createHash } from "node:crypto";
import canonicalize from "canonicalize";
import type { RecordedEvent } from "./types.js";

export const GENESIS_HASH = "0".repeat(64);

type Hashable = Omit<RecordedEvent, "hash">;

/** RFC 8785 canonical JSON of everything an event says, so any alteration changes its hash. */
export function canonicalContent(event: Hashable): string {
  return canonicalize({
    position: event.position.toString(),
    eventId: event.eventId,
    streamId: event.streamId,
    streamVersion: event.streamVersion,
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.data,
    metadata: event.metadata,
    occurredAt: event.occurredAt.toISOString(),
  })!;
}

export function chainHash(previousHash: string, event: Hashable): string {
  return createHash("sha256").update(previousHash).update("\n").update(canonicalContent(event)).digest("hex");
}
