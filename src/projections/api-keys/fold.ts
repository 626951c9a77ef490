import { maskKey } from "../../domain/key-format.js";
import type { ParsedEvent } from "../parsed-event.js";
import type { ApiKey } from "./row.js";

export const KEY_DECISIONS = ["KeyCreated", "KeyToggled", "KeyUpdated", "KeyRevoked"] as const;
export type KeyDecision = (typeof KEY_DECISIONS)[number];

/**
 * An `api_keys` row after one decision event: the live projection, the replay and time travel all
 * fold with this. Usage columns are left as they are (the usage projection owns them). A decision
 * for a key the table lacks changes nothing, as an UPDATE of a missing row would.
 */
export function foldKey(row: ApiKey | undefined, event: ParsedEvent<KeyDecision>): ApiKey | undefined {
  const at = event.occurredAt;
  if (event.type === "KeyCreated") {
    const d = event.data;
    return {
      id: d.keyId,
      ownerId: d.ownerId,
      service: d.service,
      name: d.name,
      description: d.description,
      keyHash: d.keyHash,
      maskedKey: maskKey(d.display),
      status: "ACTIVE",
      version: event.streamVersion ?? 1,
      createdPosition: event.position,
      createdAt: at,
      updatedAt: at,
      lastUsedAt: null,
      usageCount: 0n,
      revokedAt: null,
      revokeReason: null,
    };
  }
  if (!row) return undefined;
  const changed = { ...row, version: event.streamVersion ?? row.version, updatedAt: at };
  switch (event.type) {
    case "KeyToggled":
      return { ...changed, status: event.data.to };
    case "KeyUpdated":
      return {
        ...changed,
        name: event.data.name ? event.data.name.to : row.name,
        description: event.data.description ? event.data.description.to : row.description,
      };
    case "KeyRevoked":
      return { ...changed, status: "REVOKED", revokedAt: at, revokeReason: event.data.reason };
    default:
      return unreachable(event);
  }
}

function unreachable(event: never): never {
  throw new Error(`foldKey: unhandled event ${JSON.stringify(event)}`);
}
