import { invalid, type DomainError } from "./errors.js";
import type { EventData, FactEvent } from "./events.js";
import { exhaustive } from "./exhaustive.js";
import { refillEvent } from "./policies/credits.js";
import { foldLimits, NO_LIMITS, type LimitsState } from "./policies/limits.js";
import { checkRatelimit, type RatelimitOutcome } from "./policies/ratelimit.js";
import type { KeyStatus, Service } from "./services.js";
import type { DenialCode, VerifyCode } from "./verify-codes.js";

export { VERIFY_CODES, type VerifyCode } from "./verify-codes.js";

export interface RatelimitAnswer {
  name: string;
  limit: number;
  remaining: number;
  resetAt: Date;
}

/** The answer a gateway gets. Everything but the code is given for every key that exists. */
export interface Verification {
  code: VerifyCode;
  keyId?: string;
  ownerId?: string;
  expiresAt?: Date | null;
  permissions?: string[];
  meta?: Record<string, unknown> | null;
  /** Null when the key has no credits (it is not metered). */
  credits?: { remaining: number } | null;
  ratelimits?: RatelimitAnswer[];
}

/** What the verdict needs to know of a key: its current state and policies. */
export interface VerifiableKey {
  keyId: string;
  ownerId: string;
  service: Service;
  status: KeyStatus;
  expiresAt: number | null;
  permissions: string[];
  meta: Record<string, unknown> | null;
  /** The key whose credits and rate limits this one uses: itself, or its successor after a rotation. */
  limitsKeyId: string;
}

/** What a gateway asks: may the key be used for this service, with these permissions, at this cost? */
export interface VerificationRequest {
  service: Service;
  gatewayId: string;
  permissions?: readonly string[];
  /** Credits to spend; default 1, 0 checks without spending. */
  cost?: number;
  /** Which of the key's rate limits to apply and at what cost; default: all of them at cost 1. */
  ratelimits?: readonly { name: string; cost?: number | null }[];
}

/** The answer, the facts that record it, and the key's limits after them. */
export type Verdict =
  | { verification: Verification; events: FactEvent[]; limits: LimitsState | undefined }
  | { error: DomainError };

/** A held permission grants itself, and one ending in `*` grants every permission it prefixes. */
export function holds(held: readonly string[], wanted: string): boolean {
  return held.some((p) => p === wanted || (p.endsWith("*") && wanted.startsWith(p.slice(0, -1))));
}

const balanceOf = (account: LimitsState | undefined) => (account?.credits ? { remaining: account.credits.remaining } : null);

const answerOf = (outcome: RatelimitOutcome): RatelimitAnswer => ({
  name: outcome.name,
  limit: outcome.limit,
  remaining: outcome.remaining,
  resetAt: new Date(outcome.resetAt),
});

/**
 * Key state + its limits + request + time → answer. Checks run in this order, the first that
 * fails gives the code: existence (NOT_FOUND), service (WRONG_SERVICE), status (REVOKED, then
 * DISABLED), expiry (EXPIRED), the request's rate-limit names (BAD_USER_INPUT), permissions
 * (INSUFFICIENT_PERMISSIONS), a due refill (recorded, then) credits (USAGE_EXCEEDED), rate limits
 * (RATE_LIMITED). Only a VALID answer spends credits and counts against rate limits; a refused
 * known key yields one KeyDenied fact, an accepted one a KeyUsed fact, both at `now`.
 */
export function verdict(key: VerifiableKey | undefined, limits: LimitsState | undefined, request: VerificationRequest, now: Date): Verdict {
  if (!key) return { verification: { code: "NOT_FOUND" }, events: [], limits };
  const at = now.getTime();
  const usedAt = now.toISOString();
  const facts: FactEvent[] = [];
  const accounts = new Map<string, LimitsState>(limits ? [[key.limitsKeyId, limits]] : []);
  const record = (event: FactEvent) => {
    facts.push(event);
    foldLimits(accounts, event, at);
  };
  const answer = (code: VerifyCode, extra: Partial<Verification> = {}): Verification => ({
    code,
    keyId: key.keyId,
    ownerId: key.ownerId,
    expiresAt: key.expiresAt === null ? null : new Date(key.expiresAt),
    permissions: key.permissions,
    meta: key.meta,
    credits: balanceOf(accounts.get(key.limitsKeyId)),
    ratelimits: [],
    ...extra,
  });
  const refuse = (code: DenialCode, ratelimit: string | null = null, extra: Partial<Verification> = {}) => {
    const data: EventData<"KeyDenied"> = { keyId: key.keyId, service: request.service, usedAt, gatewayId: request.gatewayId, code, ratelimit };
    record({ type: "KeyDenied", data });
    return { verification: answer(code, extra), events: facts, limits: accounts.get(key.limitsKeyId) };
  };

  if (key.service !== request.service) return refuse("WRONG_SERVICE");
  switch (key.status) {
    case "REVOKED":
      return refuse("REVOKED");
    case "INACTIVE":
      return refuse("DISABLED");
    case "ACTIVE":
      break;
    default:
      return exhaustive(key.status, "key status");
  }
  if (key.expiresAt !== null && key.expiresAt <= at) return refuse("EXPIRED");

  const state = limits ?? NO_LIMITS;
  const applied: { name: string; cost: number }[] = [];
  if (request.ratelimits) {
    for (const [index, asked] of request.ratelimits.entries()) {
      if (!state.ratelimits.some((r) => r.name === asked.name)) {
        return { error: invalid(`ratelimits[${index}].name`, `the key has no rate limit named ${asked.name}`) };
      }
      if (applied.some((a) => a.name === asked.name)) return { error: invalid(`ratelimits[${index}].name`, `${asked.name} is named twice`) };
      applied.push({ name: asked.name, cost: asked.cost ?? 1 });
    }
  } else {
    applied.push(...state.ratelimits.map((r) => ({ name: r.name, cost: 1 })));
  }

  if (request.permissions?.some((wanted) => !holds(key.permissions, wanted))) return refuse("INSUFFICIENT_PERMISSIONS");

  const cost = request.cost ?? 1;
  let credits = state.credits;
  const refill = credits && refillEvent(key.limitsKeyId, credits, at);
  if (refill) {
    record(refill);
    credits = accounts.get(key.limitsKeyId)!.credits;
  }

  const current = accounts.get(key.limitsKeyId) ?? state;
  const outcomes = applied.map(({ name, cost: limitCost }) => {
    const limit = current.ratelimits.find((r) => r.name === name)!;
    return { outcome: checkRatelimit(current.windows[name] ?? [], limit, limitCost, at), cost: limitCost };
  });
  // A refused call spends nothing: its answer shows what was left before it.
  const unspent = () => outcomes.map(({ outcome, cost: c }) => answerOf({ ...outcome, remaining: outcome.remaining + (outcome.admitted ? c : 0) }));
  // Credits are checked before the rate limits: a USAGE_EXCEEDED answer carries no rate-limit figures.
  if (credits && credits.remaining < cost) return refuse("USAGE_EXCEEDED");
  const refusing = outcomes.find(({ outcome }) => !outcome.admitted);
  if (refusing) return refuse("RATE_LIMITED", refusing.outcome.name, { ratelimits: unspent() });

  const data: EventData<"KeyUsed"> = {
    keyId: key.keyId,
    service: key.service,
    usedAt,
    gatewayId: request.gatewayId,
    cost: credits ? cost : 0,
    remaining: credits ? credits.remaining - cost : null,
    ratelimits: applied,
    limitsOf: key.limitsKeyId === key.keyId ? null : key.limitsKeyId,
  };
  record({ type: "KeyUsed", data });
  return { verification: answer("VALID", { ratelimits: outcomes.map(({ outcome }) => answerOf(outcome)) }), events: facts, limits: accounts.get(key.limitsKeyId) };
}
