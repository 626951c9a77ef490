import type { EventData } from "../events.js";

/**
 * Usage credits with an optional refill. A refill sets `remaining` to the refill amount (unused
 * credits do not pile up, as Unkey does) at 00:00 UTC: every day (DAILY) or on `day` of every
 * month (MONTHLY; clamped to the month's length, so 31 means the last day). Refills happen at the
 * first verification after a boundary and are recorded as events, so a replay reproduces them.
 */

export const REFILL_INTERVALS = ["DAILY", "MONTHLY"] as const;
export type RefillInterval = (typeof REFILL_INTERVALS)[number];

export interface Refill {
  amount: number;
  interval: RefillInterval;
  /** 1-31, MONTHLY only. */
  day: number | null;
}

export interface Credits {
  remaining: number;
  refill?: Refill | null;
  /** When credits were last set or refilled (ms since epoch); the next refill is the first boundary after it. */
  lastRefillAt: number;
}

const DAY = 86_400_000;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

function monthlyBoundary(year: number, month: number, day: number): number {
  const normalised = new Date(Date.UTC(year, month, 1));
  const y = normalised.getUTCFullYear();
  const m = normalised.getUTCMonth();
  return Date.UTC(y, m, Math.min(day, daysInMonth(y, m)));
}

/** The latest refill boundary at or before `now`. */
export function lastBoundary(refill: Refill, now: number): number {
  if (refill.interval === "DAILY") return Math.floor(now / DAY) * DAY;
  const date = new Date(now);
  const day = refill.day ?? 1;
  const thisMonth = monthlyBoundary(date.getUTCFullYear(), date.getUTCMonth(), day);
  return thisMonth <= now ? thisMonth : monthlyBoundary(date.getUTCFullYear(), date.getUTCMonth() - 1, day);
}

/** The refill due at `now`, if a boundary passed since the last one: the remaining it sets and its boundary. */
export function refillDue(credits: Credits, now: number): { remaining: number; at: number } | undefined {
  if (!credits.refill) return undefined;
  const boundary = lastBoundary(credits.refill, now);
  return boundary > credits.lastRefillAt ? { remaining: credits.refill.amount, at: boundary } : undefined;
}

/**
 * The CreditsRefilled fact due at `now` for the key whose credits these are, if any. Whatever moves
 * a balance (a verification, addCredits) applies a due refill first, so the refill never replaces
 * what came after its boundary.
 */
export function refillEvent(keyId: string, credits: Credits, now: number): { type: "CreditsRefilled"; data: EventData<"CreditsRefilled"> } | undefined {
  const due = refillDue(credits, now);
  return due && { type: "CreditsRefilled", data: { keyId, remaining: due.remaining, boundary: new Date(due.at).toISOString() } };
}
