import { evolveLimits, limitAccountsOf, type LimitsState } from "../../domain/policies/limits.js";
import type { Projection } from "../parsed-event.js";
import { readLimits, writeLimits } from "./row.js";

export const LIMIT_EVENTS = ["KeyCreated", "KeyRatelimitsSet", "KeyCreditsSet", "CreditsAdded", "CreditsRefilled", "KeyRotated", "KeyUsed"] as const;

interface LimitsEventShape {
  type: string;
  data: unknown;
}

/** A use that spent no credits and applied no limit (an unmetered key's) changes no account. */
export function changesLimits(event: LimitsEventShape): boolean {
  if (!(LIMIT_EVENTS as readonly string[]).includes(event.type)) return false;
  if (event.type !== "KeyUsed") return true;
  const data = event.data as { remaining?: unknown; ratelimits?: unknown[] };
  return (data.remaining !== null && data.remaining !== undefined) || (data.ratelimits?.length ?? 0) > 0;
}

/**
 * `key_limits`: each key's rate-limit windows and credit balance, folded by the domain's
 * evolveLimits. Applied by each writer in its own transaction, under the stream locks of the keys
 * it writes (which cover the accounts they spend), so its reads and writes here never wait on
 * another writer. Only rows that changed are written.
 */
export const keyLimitsProjection: Projection<(typeof LIMIT_EVENTS)[number]> = {
  name: "key_limits",
  handles: LIMIT_EVENTS,
  async apply(tx, allEvents) {
    const events = allEvents.filter(changesLimits);
    if (events.length === 0) return;
    const accounts = await readLimits(tx, [...new Set(events.flatMap(limitAccountsOf))]);
    const changed = new Map<string, LimitsState>();
    for (const event of events) {
      const next = evolveLimits((id) => accounts.get(id), event, event.occurredAt.getTime());
      for (const [id, state] of Object.entries(next)) {
        if (JSON.stringify(state) === JSON.stringify(accounts.get(id))) continue;
        accounts.set(id, state);
        changed.set(id, state);
      }
    }
    await writeLimits(tx, changed);
  },
};
