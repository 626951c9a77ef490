import type { Refill } from "../../domain/policies/credits.js";
import type { Ratelimit } from "../../domain/policies/ratelimit.js";
import { builder } from "../builder.js";
import { RefillIntervalEnum } from "../enums/refill-interval.js";

/** The object types of a key's policies, as ApiKey shows them. */

export const RatelimitRef = builder.objectRef<Ratelimit>("Ratelimit").implement({
  description: "A named sliding-window limit: at most `limit` cost admitted in any window of `durationMs`",
  fields: (t) => ({
    name: t.exposeString("name"),
    limit: t.exposeInt("limit"),
    durationMs: t.expose("durationMs", { type: "SafeInt" }),
  }),
});

export const RefillRef = builder.objectRef<Refill>("Refill").implement({
  description: "A refill sets `remaining` to `amount` (unused credits do not pile up)",
  fields: (t) => ({
    amount: t.exposeInt("amount"),
    interval: t.field({ type: RefillIntervalEnum, resolve: (r) => r.interval }),
    day: t.exposeInt("day", { nullable: true, description: "MONTHLY only: 1 to 31" }),
  }),
});

export interface CreditsShape {
  remaining: number;
  refill: Refill | null;
  lastRefillAt: Date | null;
}

export const CreditsRef = builder.objectRef<CreditsShape>("Credits").implement({
  description: "Usage credits: each VALID verification spends its cost; at 0 the key answers USAGE_EXCEEDED",
  fields: (t) => ({
    remaining: t.exposeInt("remaining"),
    refill: t.field({ type: RefillRef, nullable: true, resolve: (c) => c.refill }),
    lastRefillAt: t.expose("lastRefillAt", { type: "DateTime", nullable: true, description: "When credits were last set or refilled" }),
  }),
});
