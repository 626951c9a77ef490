import { invalid, type DomainError } from "../errors.js";
import { REFILL_INTERVALS, type Refill } from "./credits.js";
import type { Ratelimit } from "./ratelimit.js";

/** The bounds of every key policy; a value outside them is refused with the field it came in. */
export const POLICY_LIMITS = {
  ratelimitLimit: { min: 1, max: 1_000_000 },
  ratelimitDurationMs: { min: 1_000, max: 30 * 86_400_000 },
  ratelimitsPerKey: 10,
  permissionsPerKey: 100,
  permissionPattern: /^[a-z0-9_.:*-]{1,64}$/,
  metaBytes: 8 * 1024,
  gracePeriodMs: { min: 0, max: 7 * 86_400_000 },
  cost: { min: 0, max: 1_000 },
} as const;

type Problem = DomainError | undefined;

const within = (value: number, { min, max }: { min: number; max: number }) => Number.isInteger(value) && value >= min && value <= max;

export function checkRatelimits(field: string, ratelimits: readonly Ratelimit[]): Problem {
  if (ratelimits.length > POLICY_LIMITS.ratelimitsPerKey) return invalid(field, `at most ${POLICY_LIMITS.ratelimitsPerKey} rate limits per key`);
  const names = new Set<string>();
  for (const [index, limit] of ratelimits.entries()) {
    const at = `${field}[${index}]`;
    if (!POLICY_LIMITS.permissionPattern.test(limit.name)) return invalid(`${at}.name`, "a rate limit's name is 1 to 64 of a-z 0-9 _ . : * -");
    if (names.has(limit.name)) return invalid(`${at}.name`, `two rate limits are named ${limit.name}`);
    names.add(limit.name);
    const { min, max } = POLICY_LIMITS.ratelimitLimit;
    if (!within(limit.limit, POLICY_LIMITS.ratelimitLimit)) return invalid(`${at}.limit`, `limit must be between ${min} and ${max}`);
    if (!within(limit.durationMs, POLICY_LIMITS.ratelimitDurationMs)) {
      return invalid(`${at}.durationMs`, "durationMs must be between 1000 (one second) and 2592000000 (30 days)");
    }
  }
  return undefined;
}

export function checkPermissions(field: string, permissions: readonly string[]): Problem {
  if (new Set(permissions).size > POLICY_LIMITS.permissionsPerKey) return invalid(field, `at most ${POLICY_LIMITS.permissionsPerKey} permissions`);
  const bad = permissions.find((p) => !POLICY_LIMITS.permissionPattern.test(p));
  return bad === undefined ? undefined : invalid(field, "a permission is 1 to 64 of a-z 0-9 _ . : * -");
}

export function checkMeta(field: string, meta: unknown): Problem {
  if (meta === null || typeof meta !== "object" || Array.isArray(meta)) return invalid(field, "meta must be a JSON object");
  if (Buffer.byteLength(JSON.stringify(meta)) > POLICY_LIMITS.metaBytes) return invalid(field, "meta must be at most 8 KiB as JSON");
  if (!storableText(meta)) return invalid(field, "meta must not contain NUL characters or lone surrogates");
  return undefined;
}

const UNSTORABLE = /\u0000|\p{Surrogate}/u;

/** jsonb stores neither NUL nor a lone surrogate, in a name or a value. */
function storableText(value: unknown): boolean {
  if (typeof value === "string") return !UNSTORABLE.test(value);
  if (Array.isArray(value)) return value.every(storableText);
  if (value !== null && typeof value === "object") return Object.entries(value).every(([name, inner]) => !UNSTORABLE.test(name) && storableText(inner));
  return true;
}

export function checkExpiry(field: string, expiresAt: number, now: number): Problem {
  return expiresAt <= now ? invalid(field, "expiresAt must be in the future") : undefined;
}

export function checkCredits(field: string, remaining: number, refill: Refill | null | undefined): Problem {
  if (!Number.isInteger(remaining) || remaining < 0) return invalid(`${field}.remaining`, "remaining must not be negative");
  if (!refill) return undefined;
  if (!REFILL_INTERVALS.includes(refill.interval)) return invalid(`${field}.refill.interval`, "interval is DAILY or MONTHLY");
  if (!Number.isInteger(refill.amount) || refill.amount < 1) return invalid(`${field}.refill.amount`, "a refill's amount must be at least 1");
  if (refill.interval === "DAILY" && refill.day != null) return invalid(`${field}.refill.day`, "day is for MONTHLY refills only");
  if (refill.day != null && !within(refill.day, { min: 1, max: 31 })) return invalid(`${field}.refill.day`, "day must be between 1 and 31");
  return undefined;
}

export function checkGracePeriod(field: string, gracePeriodMs: number): Problem {
  return within(gracePeriodMs, POLICY_LIMITS.gracePeriodMs) ? undefined : invalid(field, "gracePeriodMs must be between 0 and 7 days");
}

export function checkCost(field: string, cost: number): Problem {
  return within(cost, POLICY_LIMITS.cost) ? undefined : invalid(field, "cost must be between 0 and 1000");
}
