import { z } from "zod";
import { VERIFY_CODES } from "./verify-codes.js";
import { REFILL_INTERVALS } from "./policies/credits.js";
import { KEY_STATUSES, SERVICES } from "./services.js";

/**
 * Every event type with its payload schema and current schema version. Payloads are validated
 * when written and parsed (and upcast, when a type gains a version) when read back.
 */
const service = z.enum(SERVICES);
const status = z.enum(KEY_STATUSES);
const change = <T extends z.ZodType>(value: T) => z.object({ from: value, to: value });
const instant = z.iso.datetime();
const keyId = z.uuid();

const ratelimit = z.object({ name: z.string(), limit: z.number().int(), durationMs: z.number().int() });
const refill = z.object({ amount: z.number().int(), interval: z.enum(REFILL_INTERVALS), day: z.number().int().nullable() });
const creditsConfig = z.object({ remaining: z.number().int(), refill: refill.nullable() });
const meta = z.record(z.string(), z.unknown());
/** A rate limit a verification applied: which limit, at what cost. */
const appliedRatelimit = z.object({ name: z.string(), cost: z.number().int() });

export const eventSchemas = {
  KeyCreated: z.object({
    keyId,
    ownerId: z.string().min(1),
    service,
    name: z.string(),
    description: z.string().nullable(),
    keyHash: z.string().regex(/^[0-9a-f]{64}$/),
    display: z.object({ prefix: z.string(), start: z.string(), end: z.string() }),
    expiresAt: instant.nullable(),
    permissions: z.array(z.string()),
    meta: meta.nullable(),
    ratelimits: z.array(ratelimit),
    credits: creditsConfig.nullable(),
    /** The key this one replaced (rotateApiKey); its credits and rate-limit windows move here. */
    rotatedFrom: keyId.nullable(),
  }),
  KeyToggled: z.object({ keyId, from: status, to: status }),
  KeyUpdated: z.object({
    keyId,
    name: change(z.string()).optional(),
    description: change(z.string().nullable()).optional(),
  }),
  KeyRevoked: z.object({ keyId, from: status, reason: z.string().nullable() }),
  KeyExpirySet: z.object({ keyId, expiresAt: instant.nullable() }),
  KeyPermissionsSet: z.object({ keyId, permissions: z.array(z.string()) }),
  KeyMetaSet: z.object({ keyId, meta: meta.nullable() }),
  KeyRatelimitsSet: z.object({ keyId, ratelimits: z.array(ratelimit) }),
  /** Sets (or, with null, removes) the key's credits: `remaining` replaces what was left. */
  KeyCreditsSet: z.object({ keyId, credits: creditsConfig.nullable() }),
  /** `remaining` is the balance after the change (never below 0). */
  CreditsAdded: z.object({ keyId, amount: z.number().int(), remaining: z.number().int() }),
  /**
   * On the replaced key: it answers until `expiresAt` (the grace period's end), spending the
   * successor's credits and counting against its rate limits.
   */
  KeyRotated: z.object({ keyId, toKeyId: keyId, gracePeriodMs: z.number().int(), expiresAt: instant }),
  /** A fact: the first verification after a refill boundary set `remaining` to the refill amount. */
  CreditsRefilled: z.object({ keyId, remaining: z.number().int(), boundary: instant }),
  KeyUsed: z.object({
    keyId,
    service,
    usedAt: instant,
    gatewayId: z.string(),
    /** Credits spent (0 when the key has none or the caller only checked). */
    cost: z.number().int(),
    /** Credits left after this use; null when the key has no credits. */
    remaining: z.number().int().nullable(),
    ratelimits: z.array(appliedRatelimit),
    /** The key whose credits and rate limits were used, when not this one (a rotated key in its grace period). */
    limitsOf: keyId.nullable(),
  }),
  /** A fact: a verification of a known key that was refused, and why. Nothing was spent. */
  KeyDenied: z.object({
    keyId,
    service,
    usedAt: instant,
    gatewayId: z.string(),
    code: z.enum(VERIFY_CODES).exclude(["VALID", "NOT_FOUND"]),
    /** For RATE_LIMITED: the limit that refused. */
    ratelimit: z.string().nullable(),
  }),
} as const;

export type EventType = keyof typeof eventSchemas;
export const EVENT_TYPES = Object.keys(eventSchemas) as EventType[];

export const CURRENT_SCHEMA_VERSION: Record<EventType, number> = {
  KeyCreated: 2,
  KeyToggled: 1,
  KeyUpdated: 1,
  KeyRevoked: 1,
  KeyExpirySet: 1,
  KeyPermissionsSet: 1,
  KeyMetaSet: 1,
  KeyRatelimitsSet: 1,
  KeyCreditsSet: 1,
  CreditsAdded: 1,
  KeyRotated: 1,
  CreditsRefilled: 1,
  KeyUsed: 2,
  KeyDenied: 1,
};

export type EventData<T extends EventType> = z.infer<(typeof eventSchemas)[T]>;
export type DomainEvent = { [T in EventType]: { type: T; data: EventData<T> } }[EventType];

/** Facts: appended without a stream version, they never conflict with a key's decisions. */
export const FACT_TYPES = ["KeyUsed", "KeyDenied", "CreditsRefilled"] as const satisfies readonly EventType[];
export type FactType = (typeof FACT_TYPES)[number];
export type FactEvent = Extract<DomainEvent, { type: FactType }>;

/** Key-changing events: decisions, appended with the stream version they were decided on. */
export type KeyDecisionEvent = Exclude<DomainEvent, { type: FactType }>;

/**
 * Turns a stored payload of any schema version into the current shape. When a type's payload
 * changes, bump its CURRENT_SCHEMA_VERSION and add a step here; the log is never rewritten.
 */
const upcasters: Partial<Record<EventType, Record<number, (data: Record<string, unknown>) => Record<string, unknown>>>> = {
  // Version 2 added key policies: a key created before them has none.
  KeyCreated: {
    1: (data) => ({ ...data, expiresAt: null, permissions: [], meta: null, ratelimits: [], credits: null, rotatedFrom: null }),
  },
  // Version 2 added credits and rate limits: a use before them spent nothing and applied no limit.
  KeyUsed: { 1: (data) => ({ ...data, cost: 0, remaining: null, ratelimits: [], limitsOf: null }) },
};

export function parseEvent(type: string, schemaVersion: number, data: Record<string, unknown>): DomainEvent {
  if (!(type in eventSchemas)) throw new Error(`Unknown event type ${type}`);
  const eventType = type as EventType;
  let payload = data;
  for (let version = schemaVersion; version < CURRENT_SCHEMA_VERSION[eventType]; version++) {
    const step = upcasters[eventType]?.[version];
    if (!step) throw new Error(`No upcaster for ${type} from schema version ${version}`);
    payload = step(payload);
  }
  return { type: eventType, data: eventSchemas[eventType].parse(payload) } as DomainEvent;
}
