import type { PolicyChanges } from "../../domain/policies/key-policies.js";
import { builder } from "../builder.js";
import { RefillIntervalEnum } from "../enums/refill-interval.js";
import { badInput } from "../errors.js";

/** The policy fields createApiKey and updateApiKey share, and their mapping to the domain's PolicyChanges. */

export const RatelimitInput = builder.inputType("RatelimitInput", {
  fields: (t) => ({
    name: t.string({ required: true, description: "1 to 64 of a-z 0-9 _ . : * -; unique per key" }),
    limit: t.int({ required: true, description: "1 to 1000000" }),
    // SafeInt: 30 days in milliseconds is past GraphQL Int's 2^31 - 1.
    durationMs: t.field({ type: "SafeInt", required: true, description: "1000 (one second) to 2592000000 (30 days)" }),
  }),
});

export const RefillInput = builder.inputType("RefillInput", {
  fields: (t) => ({
    amount: t.int({ required: true, description: "At least 1: the balance a refill sets" }),
    interval: t.field({ type: RefillIntervalEnum, required: true }),
    day: t.int({ description: "MONTHLY only: 1 to 31 (default 1), clamped to the month's length" }),
  }),
});

export const CreditsInput = builder.inputType("CreditsInput", {
  fields: (t) => ({
    remaining: t.int({ required: true, description: "The balance, at least 0" }),
    refill: t.field({ type: RefillInput }),
  }),
});

export const POLICY_FIELD_DESCRIPTIONS = {
  expiresAt: "After this time the key answers EXPIRED; must lie in the future",
  permissions: "Up to 100, each 1 to 64 of a-z 0-9 _ . : * -; a trailing * grants every permission it prefixes",
  meta: "Any JSON object up to 8 KiB, returned with every verification",
  ratelimits: "Up to 10 named limits",
  credits: "Usage credits; without them the key is not metered",
};

type PolicyInput = {
  expiresAt?: Date | null;
  permissions?: readonly string[] | null;
  meta?: Record<string, unknown> | null;
  ratelimits?: readonly { name: string; limit: number; durationMs: number }[] | null;
  credits?: { remaining: number; refill?: { amount: number; interval: "DAILY" | "MONTHLY"; day?: number | null } | null } | null;
};

/** GraphQL's policy fields as changes: absent leaves a policy alone, null clears one that can be cleared. */
export function policyChangesOf(input: PolicyInput): PolicyChanges {
  for (const list of ["permissions", "ratelimits"] as const) {
    if (input[list] === null) throw badInput(list, `${list} cannot be null; pass [] to remove them all`);
  }
  const changes: PolicyChanges = {};
  if (input.expiresAt !== undefined) changes.expiresAt = input.expiresAt === null ? null : input.expiresAt.getTime();
  if (input.permissions) changes.permissions = input.permissions;
  if (input.meta !== undefined) changes.meta = input.meta;
  if (input.ratelimits) changes.ratelimits = input.ratelimits;
  if (input.credits !== undefined) {
    changes.credits = input.credits && { remaining: input.credits.remaining, refill: input.credits.refill ? { ...input.credits.refill, day: input.credits.refill.day ?? null } : null };
  }
  return changes;
}
