import type { ApiKeyCommand } from "../../src/domain/api-key.js";
import type { EventData, KeyDecisionEvent } from "../../src/domain/events.js";

export const KEY_ID = "0b9f3c62-7d1e-4a55-9a0e-3f6f2c1d8e47";
export const OWNER = "alice";
export const NOW = Date.parse("2026-11-24T12:00:00Z");
const KEY_HASH = "a".repeat(64);
const DISPLAY = { prefix: "klp_sms_", start: "4Fh2", end: "aB1c" };

export const createCommand = (overrides: Partial<Extract<ApiKeyCommand, { kind: "create" }>> = {}): ApiKeyCommand => ({
  kind: "create",
  keyId: KEY_ID,
  ownerId: OWNER,
  service: "SMS",
  name: "checkout",
  keyHash: KEY_HASH,
  display: DISPLAY,
  now: NOW,
  ...overrides,
});

export const NO_POLICY_FIELDS = { expiresAt: null, permissions: [], meta: null, ratelimits: [], credits: null, rotatedFrom: null };

export const keyCreated = (overrides: Partial<EventData<"KeyCreated">> = {}): KeyDecisionEvent => ({
  type: "KeyCreated",
  data: { keyId: KEY_ID, ownerId: OWNER, service: "SMS", name: "checkout", description: null, keyHash: KEY_HASH, display: DISPLAY, ...NO_POLICY_FIELDS, ...overrides },
});

export const keyToggled = (from: EventData<"KeyToggled">["from"], to: EventData<"KeyToggled">["to"]): KeyDecisionEvent => ({
  type: "KeyToggled",
  data: { keyId: KEY_ID, from, to },
});

export const keyUpdated = (changes: Omit<EventData<"KeyUpdated">, "keyId">): KeyDecisionEvent => ({
  type: "KeyUpdated",
  data: { keyId: KEY_ID, ...changes },
});

export const keyRevoked = (from: EventData<"KeyRevoked">["from"] = "ACTIVE", reason: string | null = null): KeyDecisionEvent => ({
  type: "KeyRevoked",
  data: { keyId: KEY_ID, from, reason },
});

const forKey = <T extends KeyDecisionEvent["type"]>(type: T) => (data: Omit<EventData<T>, "keyId">, keyId = KEY_ID) =>
  ({ type, data: { keyId, ...data } }) as KeyDecisionEvent;

export const keyExpirySet = forKey("KeyExpirySet");
export const keyPermissionsSet = forKey("KeyPermissionsSet");
export const keyMetaSet = forKey("KeyMetaSet");
export const keyRatelimitsSet = forKey("KeyRatelimitsSet");
export const keyCreditsSet = forKey("KeyCreditsSet");
export const creditsAdded = forKey("CreditsAdded");
export const keyRotated = forKey("KeyRotated");

export const iso = (ms: number) => new Date(ms).toISOString();
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
