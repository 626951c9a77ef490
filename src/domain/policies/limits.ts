import type { DomainEvent } from "../events.js";
import type { Credits } from "./credits.js";
import { admit, regrid, type Ratelimit, type WindowState } from "./ratelimit.js";

/**
 * What a verification decides on besides the key itself: its rate limits with their windows and
 * its credits. Held per key ("account"); a rotated key forwards to its successor's account, so the
 * two keys share one balance and one set of windows during the grace period.
 */
export interface LimitsState {
  ratelimits: Ratelimit[];
  windows: Record<string, WindowState>;
  credits: Credits | null;
  /** Set once the key is rotated: its limits are the successor's from then on. */
  forwardedTo: string | null;
}

export const NO_LIMITS: LimitsState = { ratelimits: [], windows: {}, credits: null, forwardedTo: null };

/** The accounts an event changes: the key whose limits it moves (two for a rotation). */
export function limitAccountsOf(event: DomainEvent): string[] {
  switch (event.type) {
    case "KeyUsed":
      return [event.data.limitsOf ?? event.data.keyId];
    case "KeyRotated":
      return [event.data.keyId, event.data.toKeyId];
    case "KeyCreated":
    case "KeyRatelimitsSet":
    case "KeyCreditsSet":
    case "CreditsAdded":
    case "CreditsRefilled":
      return [event.data.keyId];
    default:
      return [];
  }
}

/**
 * The accounts after one event that occurred at `at` (ms): only the changed ones are returned.
 * The live projection, the replay and the verifier's own bookkeeping all fold with this.
 */
export function evolveLimits(
  account: (keyId: string) => LimitsState | undefined,
  event: DomainEvent,
  at: number,
): Record<string, LimitsState> {
  switch (event.type) {
    case "KeyCreated": {
      const { keyId, ratelimits, credits } = event.data;
      return { [keyId]: { ratelimits, windows: {}, credits: credits && { ...credits, lastRefillAt: at }, forwardedTo: null } };
    }
    case "KeyRatelimitsSet": {
      const state = account(event.data.keyId);
      if (!state) return {};
      const windows: Record<string, WindowState> = {};
      for (const limit of event.data.ratelimits) {
        const kept = state.windows[limit.name];
        const before = state.ratelimits.find((r) => r.name === limit.name);
        if (kept && before) windows[limit.name] = regrid(kept, before.durationMs, limit.durationMs);
      }
      return { [event.data.keyId]: { ...state, ratelimits: event.data.ratelimits, windows } };
    }
    case "KeyCreditsSet": {
      const state = account(event.data.keyId);
      const credits = event.data.credits;
      return state ? { [event.data.keyId]: { ...state, credits: credits && { ...credits, lastRefillAt: at } } } : {};
    }
    case "CreditsAdded":
    case "CreditsRefilled": {
      const state = account(event.data.keyId);
      if (!state?.credits) return {};
      const lastRefillAt = event.type === "CreditsRefilled" ? Date.parse(event.data.boundary) : state.credits.lastRefillAt;
      return { [event.data.keyId]: { ...state, credits: { ...state.credits, remaining: event.data.remaining, lastRefillAt } } };
    }
    case "KeyRotated": {
      const { keyId, toKeyId } = event.data;
      const state = account(keyId);
      return state ? { [toKeyId]: { ...state, forwardedTo: null }, [keyId]: { ...state, forwardedTo: toKeyId } } : {};
    }
    case "KeyUsed": {
      const id = event.data.limitsOf ?? event.data.keyId;
      const state = account(id);
      if (!state) return {};
      const usedAt = Date.parse(event.data.usedAt);
      const windows = { ...state.windows };
      for (const applied of event.data.ratelimits) {
        const limit = state.ratelimits.find((r) => r.name === applied.name);
        if (limit) windows[applied.name] = admit(windows[applied.name] ?? [], limit, applied.cost, usedAt);
      }
      const credits = state.credits && event.data.remaining !== null ? { ...state.credits, remaining: event.data.remaining } : state.credits;
      return { [id]: { ...state, windows, credits } };
    }
    default:
      return {};
  }
}

/** Folds events into a map of accounts, in place: for the replay and for a batch of verdicts. */
export function foldLimits(accounts: Map<string, LimitsState>, event: DomainEvent, at: number): void {
  for (const [id, state] of Object.entries(evolveLimits((keyId) => accounts.get(keyId), event, at))) accounts.set(id, state);
}
