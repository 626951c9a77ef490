import { maskKey } from "../../domain/key-format.js";
import type { ParsedEvent } from "../parsed-event.js";
import type { ApiKey } from "./row.js";

/** The events that change an `api_keys` row's own columns (uses are the usage projection's). */
export const KEY_DECISIONS = [
  "KeyCreated",
  "KeyToggled",
  "KeyUpdated",
  "KeyRevoked",
  "KeyExpirySet",
  "KeyPermissionsSet",
  "KeyMetaSet",
  "KeyRatelimitsSet",
  "KeyCreditsSet",
  "CreditsAdded",
  "KeyRotated",
  "CreditsRefilled",
] as const;
export type KeyDecision = (typeof KEY_DECISIONS)[number];

const date = (iso: string | null) => (iso === null ? null : new Date(iso));

/**
 * `api_keys` rows after one event: the live projection, the replay and time travel all fold with
 * this. `rows` holds the rows the event may touch (a rotation touches the successor and the keys
 * that spent the rotated key's limits); rows it lacks are left alone, as an UPDATE of a missing
 * row would. Usage columns are the usage projection's.
 */
export function foldKeys(rows: Map<string, ApiKey>, event: ParsedEvent<KeyDecision>): void {
  const at = event.occurredAt;
  if (event.type === "KeyCreated") {
    const d = event.data;
    rows.set(d.keyId, {
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
      expiresAt: date(d.expiresAt),
      permissions: d.permissions,
      meta: d.meta as ApiKey["meta"],
      ratelimits: d.ratelimits,
      creditsRemaining: d.credits ? BigInt(d.credits.remaining) : null,
      creditsRefill: d.credits?.refill ?? null,
      lastRefillAt: d.credits ? at : null,
      rotatedFrom: d.rotatedFrom,
      rotatedTo: null,
      limitsKeyId: d.keyId,
    });
    return;
  }
  const row = rows.get(event.data.keyId);
  if (!row) return;
  // Facts carry no stream version and do not make a key "updated".
  const changed = event.streamVersion === null ? row : { ...row, version: event.streamVersion, updatedAt: at };
  rows.set(row.id, foldDecision(changed, event, rows));
}

function foldDecision(row: ApiKey, event: ParsedEvent<Exclude<KeyDecision, "KeyCreated">>, rows: Map<string, ApiKey>): ApiKey {
  switch (event.type) {
    case "KeyToggled":
      return { ...row, status: event.data.to };
    case "KeyUpdated":
      return {
        ...row,
        name: event.data.name ? event.data.name.to : row.name,
        description: event.data.description ? event.data.description.to : row.description,
      };
    case "KeyRevoked":
      return { ...row, status: "REVOKED", revokedAt: event.occurredAt, revokeReason: event.data.reason };
    case "KeyExpirySet":
      return { ...row, expiresAt: date(event.data.expiresAt) };
    case "KeyPermissionsSet":
      return { ...row, permissions: event.data.permissions };
    case "KeyMetaSet":
      return { ...row, meta: event.data.meta as ApiKey["meta"] };
    case "KeyRatelimitsSet":
      return { ...row, ratelimits: event.data.ratelimits };
    case "KeyCreditsSet": {
      const credits = event.data.credits;
      return {
        ...row,
        creditsRemaining: credits ? BigInt(credits.remaining) : null,
        creditsRefill: credits?.refill ?? null,
        lastRefillAt: credits ? event.occurredAt : null,
      };
    }
    case "CreditsAdded":
      return { ...row, creditsRemaining: BigInt(event.data.remaining) };
    case "CreditsRefilled":
      return { ...row, creditsRemaining: BigInt(event.data.remaining), lastRefillAt: new Date(event.data.boundary) };
    case "KeyRotated": {
      const { keyId, toKeyId } = event.data;
      // The successor takes over the balance and its refill clock; keys that spent this key's limits now spend the successor's.
      const successor = rows.get(toKeyId);
      if (successor) rows.set(toKeyId, { ...successor, creditsRemaining: row.creditsRemaining, lastRefillAt: row.lastRefillAt });
      for (const other of rows.values()) {
        if (other.id !== keyId && other.limitsKeyId === keyId) rows.set(other.id, { ...other, limitsKeyId: toKeyId });
      }
      return { ...row, rotatedTo: toKeyId, expiresAt: new Date(event.data.expiresAt), limitsKeyId: toKeyId };
    }
    default:
      return unreachable(event);
  }
}

function unreachable(event: never): never {
  throw new Error(`foldKeys: unhandled event ${JSON.stringify(event)}`);
}
