import { z } from "zod";
import { KEY_STATUSES, SERVICES } from "./services.js";

/**
 * Every event type with its payload schema and current schema version. Payloads are validated
 * when written and parsed (and upcast, when a type gains a version) when read back.
 */
const service = z.enum(SERVICES);
const status = z.enum(KEY_STATUSES);
const change = <T extends z.ZodType>(value: T) => z.object({ from: value, to: value });

export const eventSchemas = {
  KeyCreated: z.object({
    keyId: z.uuid(),
    ownerId: z.string().min(1),
    service,
    name: z.string(),
    description: z.string().nullable(),
    keyHash: z.string().regex(/^[0-9a-f]{64}$/),
    display: z.object({ prefix: z.string(), start: z.string(), end: z.string() }),
  }),
  KeyToggled: z.object({ keyId: z.uuid(), from: status, to: status }),
  KeyUpdated: z.object({
    keyId: z.uuid(),
    name: change(z.string()).optional(),
    description: change(z.string().nullable()).optional(),
  }),
  KeyRevoked: z.object({ keyId: z.uuid(), from: status, reason: z.string().nullable() }),
  KeyUsed: z.object({ keyId: z.uuid(), service, usedAt: z.iso.datetime(), gatewayId: z.string() }),
} as const;

export type EventType = keyof typeof eventSchemas;
export const EVENT_TYPES = Object.keys(eventSchemas) as EventType[];

export const CURRENT_SCHEMA_VERSION: Record<EventType, number> = {
  KeyCreated: 1,
  KeyToggled: 1,
  KeyUpdated: 1,
  KeyRevoked: 1,
  KeyUsed: 1,
};

export type EventData<T extends EventType> = z.infer<(typeof eventSchemas)[T]>;
export type DomainEvent = { [T in EventType]: { type: T; data: EventData<T> } }[EventType];

/** Key-changing events: decisions, appended with the stream version they were decided on. */
export type KeyDecisionEvent = Exclude<DomainEvent, { type: "KeyUsed" }>;

/**
 * Turns a stored payload of any schema version into the current shape. When a type's payload
 * changes, bump its CURRENT_SCHEMA_VERSION and add a step here; the log is never rewritten.
 */
const upcasters: Partial<Record<EventType, Record<number, (data: Record<string, unknown>) => Record<string, unknown>>>> = {};

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
