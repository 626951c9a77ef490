import type { EventType } from "./events.js";

/** How a key-table reader hears about a decision: the kind of change each decision event makes. */
export const KEY_CHANGES = {
  KeyCreated: "CREATED",
  KeyToggled: "TOGGLED",
  KeyUpdated: "UPDATED",
  KeyRevoked: "REVOKED",
  KeyExpirySet: "UPDATED",
  KeyPermissionsSet: "UPDATED",
  KeyMetaSet: "UPDATED",
  KeyRatelimitsSet: "UPDATED",
  KeyCreditsSet: "UPDATED",
  CreditsAdded: "UPDATED",
  KeyRotated: "ROTATED",
} as const satisfies Partial<Record<EventType, string>>;

export type KeyChange = (typeof KEY_CHANGES)[keyof typeof KEY_CHANGES];
export const KEY_CHANGE_KINDS = [...new Set(Object.values(KEY_CHANGES))] as KeyChange[];

/** The change an event makes to a key's row, or undefined for events that change none (facts). */
export function keyChangeOf(type: string): KeyChange | undefined {
  return Object.hasOwn(KEY_CHANGES, type) ? KEY_CHANGES[type as keyof typeof KEY_CHANGES] : undefined;
}
