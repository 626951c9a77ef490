import { isDeepStrictEqual } from "node:util";
import type { DomainError } from "../errors.js";
import { invalid } from "../errors.js";
import type { EventData } from "../events.js";
import type { Refill } from "./credits.js";
import type { Ratelimit } from "./ratelimit.js";
import { checkCredits, checkExpiry, checkMeta, checkPermissions, checkRatelimits } from "./validation.js";

export type CreditsConfig = { remaining: number; refill: Refill | null };

/** A key's policies as commands give them; every field is optional (absent: no change, or none at creation). */
export interface PolicyChanges {
  /** ms since epoch; null removes the expiry. */
  expiresAt?: number | null;
  permissions?: readonly string[];
  meta?: Record<string, unknown> | null;
  ratelimits?: readonly Ratelimit[];
  credits?: CreditsConfig | null;
}

/** The policies as a key's events record them. */
export interface KeyPolicies {
  expiresAt: number | null;
  permissions: string[];
  meta: Record<string, unknown> | null;
  ratelimits: Ratelimit[];
  credits: CreditsConfig | null;
}

export const NO_POLICIES: KeyPolicies = { expiresAt: null, permissions: [], meta: null, ratelimits: [], credits: null };

const sortedUnique = (values: readonly string[]) => [...new Set(values)].sort();
const normaliseCredits = (c: CreditsConfig): CreditsConfig => ({
  remaining: c.remaining,
  refill: c.refill && { amount: c.refill.amount, interval: c.refill.interval, day: c.refill.interval === "MONTHLY" ? (c.refill.day ?? 1) : null },
});

/** Checks every given policy; the first problem names its field. Permissions are kept sorted and unique. */
export function checkPolicies(changes: PolicyChanges, now: number): { value: PolicyChanges } | { error: DomainError } {
  const problem =
    (changes.expiresAt != null && (Number.isNaN(changes.expiresAt) ? invalid("expiresAt", "expiresAt is not a time") : checkExpiry("expiresAt", changes.expiresAt, now))) ||
    (changes.permissions && checkPermissions("permissions", changes.permissions)) ||
    (changes.meta != null && checkMeta("meta", changes.meta)) ||
    (changes.ratelimits && checkRatelimits("ratelimits", changes.ratelimits)) ||
    (changes.credits != null && checkCredits("credits", changes.credits.remaining, changes.credits.refill));
  if (problem) return { error: problem };
  return {
    value: {
      ...changes,
      ...(changes.permissions ? { permissions: sortedUnique(changes.permissions) } : {}),
      ...(changes.ratelimits ? { ratelimits: changes.ratelimits.map(({ name, limit, durationMs }) => ({ name, limit, durationMs })) } : {}),
      ...(changes.credits ? { credits: normaliseCredits(changes.credits) } : {}),
    },
  };
}

/** The policy fields of KeyCreated. */
export function createdPolicies(changes: PolicyChanges): Pick<EventData<"KeyCreated">, "expiresAt" | "permissions" | "meta" | "ratelimits" | "credits"> {
  return {
    expiresAt: changes.expiresAt == null ? null : new Date(changes.expiresAt).toISOString(),
    permissions: [...(changes.permissions ?? [])],
    meta: changes.meta ?? null,
    ratelimits: [...(changes.ratelimits ?? [])],
    credits: changes.credits ?? null,
  };
}

export function policiesFromCreated(data: EventData<"KeyCreated">): KeyPolicies {
  return {
    expiresAt: data.expiresAt === null ? null : Date.parse(data.expiresAt),
    permissions: data.permissions,
    meta: data.meta,
    ratelimits: data.ratelimits,
    credits: data.credits,
  };
}

/** Equal as JSON values, whatever the order of object keys (the log's JSONB reorders them). */
export const samePolicyValue = (a: unknown, b: unknown) => isDeepStrictEqual(a, b);
