import { describe, expect, it } from "vitest";
import type { DomainEvent, EventData } from "../../../src/domain/events.js";
import { evolveLimits, foldLimits, limitAccountsOf, NO_LIMITS, type LimitsState } from "../../../src/domain/policies/limits.js";
import { admit } from "../../../src/domain/policies/ratelimit.js";
import { verdict, type VerifiableKey, type VerificationRequest } from "../../../src/domain/verification.js";
import { creditsAdded, DAY, HOUR, iso, KEY_ID, keyCreated, keyCreditsSet, keyMetaSet, keyRatelimitsSet, keyRotated, keyToggled, OWNER } from "../fixtures.js";

const T0 = Date.parse("2026-11-24T12:00:00Z");
const SUCCESSOR = "5d1c8a2e-93b4-4f0a-8e7d-2b6c4a9f1e03";
const api = { name: "api", limit: 10, durationMs: 10_000 };
const hourly = { name: "hourly", limit: 15, durationMs: HOUR };
const credits = { remaining: 200, refill: { amount: 200, interval: "DAILY" as const, day: null } };

/** The accounts after `events`, each at its time. */
function fold(events: Array<[DomainEvent, number]>): Map<string, LimitsState> {
  const accounts = new Map<string, LimitsState>();
  for (const [event, at] of events) foldLimits(accounts, event, at);
  return accounts;
}

const one = (state: LimitsState | undefined) => () => state;
const created = keyCreated({ ratelimits: [api, hourly], credits });
const startCredits = { ...credits, lastRefillAt: T0 };
const start: LimitsState = { ratelimits: [api, hourly], windows: {}, credits: startCredits, forwardedTo: null };

const keyUsed = (data: Partial<EventData<"KeyUsed">>): DomainEvent => ({
  type: "KeyUsed",
  data: { keyId: KEY_ID, service: "SMS", usedAt: iso(T0), gatewayId: "gw", cost: 0, remaining: null, ratelimits: [], limitsOf: null, ...data },
});

describe("evolveLimits", () => {
  it("opens an account at KeyCreated: its limits, no windows, credits last set then", () => {
    expect(evolveLimits(one(undefined), created, T0)).toEqual({ [KEY_ID]: start });
    expect(evolveLimits(one(undefined), keyCreated(), T0)).toEqual({ [KEY_ID]: NO_LIMITS });
  });

  it("replaces the rate limits, keeping the windows of limits that stay", () => {
    const used = { ...start, windows: { api: admit([], api, 3, T0), hourly: admit([], hourly, 3, T0) } };
    const daily = { name: "daily", limit: 5, durationMs: DAY };
    expect(evolveLimits(one(used), keyRatelimitsSet({ ratelimits: [{ ...api, limit: 20 }, daily] }), T0 + 1)).toEqual({
      [KEY_ID]: { ...used, ratelimits: [{ ...api, limit: 20 }, daily], windows: { api: used.windows.api } },
    });
    expect(evolveLimits(one(undefined), keyRatelimitsSet({ ratelimits: [] }), T0)).toEqual({});
  });

  it("sets or removes credits at KeyCreditsSet, restarting the refill clock", () => {
    const later = T0 + 5 * HOUR;
    const set = { remaining: 7, refill: null };
    expect(evolveLimits(one(start), keyCreditsSet({ credits: set }), later)).toEqual({ [KEY_ID]: { ...start, credits: { ...set, lastRefillAt: later } } });
    expect(evolveLimits(one(start), keyCreditsSet({ credits: null }), later)).toEqual({ [KEY_ID]: { ...start, credits: null } });
    expect(evolveLimits(one(undefined), keyCreditsSet({ credits: null }), later)).toEqual({});
  });

  it("takes the balance of CreditsAdded, not the refill clock", () => {
    expect(evolveLimits(one(start), creditsAdded({ amount: -60, remaining: 0 }), T0 + HOUR)).toEqual({ [KEY_ID]: { ...start, credits: { ...startCredits, remaining: 0 } } });
    expect(evolveLimits(one(NO_LIMITS), creditsAdded({ amount: 1, remaining: 1 }), T0)).toEqual({});
  });

  it("takes the balance and the boundary of CreditsRefilled", () => {
    const boundary = Date.parse("2026-11-25T00:00:00Z");
    const refilled: DomainEvent = { type: "CreditsRefilled", data: { keyId: KEY_ID, remaining: 40, boundary: iso(boundary) } };
    expect(evolveLimits(one(start), refilled, boundary + HOUR)).toEqual({ [KEY_ID]: { ...start, credits: { ...startCredits, remaining: 40, lastRefillAt: boundary } } });
    expect(evolveLimits(one(NO_LIMITS), refilled, boundary)).toEqual({});
  });

  it("moves windows and balance to the successor at KeyRotated, and forwards the old account", () => {
    const used = { ...start, windows: { api: admit([], api, 4, T0) }, credits: { ...startCredits, remaining: 12 } };
    const accounts = new Map([
      [KEY_ID, used],
      [SUCCESSOR, { ...start, credits: { ...startCredits, remaining: 50 } }],
    ]);
    const rotation = keyRotated({ toKeyId: SUCCESSOR, gracePeriodMs: HOUR, expiresAt: iso(T0 + HOUR) });
    expect(evolveLimits((id) => accounts.get(id), rotation, T0)).toEqual({ [SUCCESSOR]: used, [KEY_ID]: { ...used, forwardedTo: SUCCESSOR } });
    expect(evolveLimits(one(undefined), rotation, T0)).toEqual({});
  });

  it("admits a KeyUsed's costs into its limits at its usedAt and takes its balance", () => {
    const usedAt = T0 + 1_234;
    const result = evolveLimits(one(start), keyUsed({ usedAt: iso(usedAt), cost: 2, remaining: 48, ratelimits: [{ name: "api", cost: 3 }] }), T0 + 99_999);
    expect(result).toEqual({ [KEY_ID]: { ...start, windows: { api: admit([], api, 3, usedAt) }, credits: { ...startCredits, remaining: 48 } } });
  });

  it("leaves credits alone for a KeyUsed with no balance, and skips limits the account no longer has", () => {
    const result = evolveLimits(one(start), keyUsed({ remaining: null, ratelimits: [{ name: "gone", cost: 1 }, { name: "hourly", cost: 1 }] }), T0);
    expect(result).toEqual({ [KEY_ID]: { ...start, windows: { hourly: admit([], hourly, 1, T0) } } });
    expect(evolveLimits(one(undefined), keyUsed({}), T0)).toEqual({});
  });

  it("charges a rotated key's use to the account it names (limitsOf)", () => {
    const accounts = new Map([[SUCCESSOR, start]]);
    const result = evolveLimits((id) => accounts.get(id), keyUsed({ limitsOf: SUCCESSOR, cost: 1, remaining: 49, ratelimits: [{ name: "api", cost: 1 }] }), T0);
    expect(result).toEqual({ [SUCCESSOR]: { ...start, windows: { api: admit([], api, 1, T0) }, credits: { ...startCredits, remaining: 49 } } });
  });

  it("changes nothing for events that do not touch limits", () => {
    const denied: DomainEvent = { type: "KeyDenied", data: { keyId: KEY_ID, service: "SMS", usedAt: iso(T0), gatewayId: "gw", code: "RATE_LIMITED", ratelimit: "api" } };
    for (const event of [denied, keyToggled("ACTIVE", "INACTIVE"), keyMetaSet({ meta: null })]) {
      expect(evolveLimits(one(start), event, T0)).toEqual({});
      expect(limitAccountsOf(event)).toEqual([]);
    }
  });

  it("names the accounts each event changes", () => {
    expect(limitAccountsOf(created)).toEqual([KEY_ID]);
    expect(limitAccountsOf(keyUsed({}))).toEqual([KEY_ID]);
    expect(limitAccountsOf(keyUsed({ limitsOf: SUCCESSOR }))).toEqual([SUCCESSOR]);
    expect(limitAccountsOf(keyRotated({ toKeyId: SUCCESSOR, gracePeriodMs: 0, expiresAt: iso(T0) }))).toEqual([KEY_ID, SUCCESSOR]);
    expect(limitAccountsOf(creditsAdded({ amount: 1, remaining: 1 }))).toEqual([KEY_ID]);
    expect(limitAccountsOf(keyCreditsSet({ credits: null }))).toEqual([KEY_ID]);
    expect(limitAccountsOf(keyRatelimitsSet({ ratelimits: [] }))).toEqual([KEY_ID]);
  });

  it("is what foldLimits applies, in place, account by account", () => {
    const accounts = fold([
      [created, T0],
      [keyCreated({ keyId: SUCCESSOR, credits: { remaining: 1, refill: null } }), T0],
      [keyRotated({ toKeyId: SUCCESSOR, gracePeriodMs: HOUR, expiresAt: iso(T0 + HOUR) }), T0 + 1],
    ]);
    expect(accounts.get(SUCCESSOR)).toEqual(start);
    expect(accounts.get(KEY_ID)).toEqual({ ...start, forwardedTo: SUCCESSOR });
  });
});

/** A small deterministic generator, so a failure replays. */
function random(seed: number) {
  return () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

const keyOf = (keyId: string, limitsKeyId = keyId): VerifiableKey => ({
  keyId,
  ownerId: OWNER,
  service: "SMS",
  status: "ACTIVE",
  expiresAt: null,
  permissions: ["sms.*"],
  meta: null,
  limitsKeyId,
});

describe("replay reproduces the live limits", () => {
  /** A random request, sometimes refused (permissions, service, credits, rate limits). */
  function requestFrom(next: () => number): VerificationRequest {
    const roll = next();
    const request: VerificationRequest = { service: roll < 0.05 ? "EMAIL" : "SMS", gatewayId: "gw", cost: Math.floor(next() * 4) };
    if (next() < 0.1) return { ...request, permissions: ["email.send"] };
    const pick = next();
    if (pick < 0.3) return { ...request, ratelimits: [{ name: "api", cost: 1 + Math.floor(next() * 3) }] };
    if (pick < 0.4) return { ...request, ratelimits: [{ name: "hourly", cost: null }] };
    return request;
  }

  it("threading N verdicts through the limits they return equals folding their events from the start", () => {
    const next = random(7);
    const events: Array<[DomainEvent, number]> = [[created, T0]];
    let limits: LimitsState | undefined = fold(events).get(KEY_ID);
    let now = T0;
    const codes = new Set<string>();
    for (let i = 0; i < 1_500; i++) {
      // bursts and lulls: some calls a few ms apart, some many minutes (past refill boundaries)
      now += next() < 0.3 ? Math.floor(next() * 500) : Math.floor(next() * next() * 20 * 60_000);
      const result = verdict(keyOf(KEY_ID), limits, requestFrom(next), new Date(now));
      if ("error" in result) throw new Error(JSON.stringify(result.error));
      codes.add(result.verification.code);
      for (const event of result.events) events.push([event, now]);
      limits = result.limits;
      expect(limits!.credits!.remaining).toBeGreaterThanOrEqual(0);
      if (i % 100 === 0) expect(fold(events).get(KEY_ID)).toEqual(limits);
    }
    expect(fold(events).get(KEY_ID)).toEqual(limits);
    // the run went through every outcome the threading must survive, refills included
    expect([...codes].sort()).toEqual(["INSUFFICIENT_PERMISSIONS", "RATE_LIMITED", "USAGE_EXCEEDED", "VALID", "WRONG_SERVICE"]);
    expect(events.filter(([e]) => e.type === "CreditsRefilled").length).toBeGreaterThan(1);
  });

  it("does so across a rotation, the old and the new key spending one account", () => {
    const next = random(11);
    const events: Array<[DomainEvent, number]> = [[created, T0]];
    let limits = fold(events).get(KEY_ID);
    let now = T0;
    const run = (key: VerifiableKey, times: number) => {
      for (let i = 0; i < times; i++) {
        now += Math.floor(next() * 3 * 60_000);
        const result = verdict(key, limits, requestFrom(next), new Date(now));
        if ("error" in result) throw new Error(JSON.stringify(result.error));
        for (const event of result.events) events.push([event, now]);
        limits = result.limits;
      }
    };
    run(keyOf(KEY_ID), 200);
    events.push([keyCreated({ keyId: SUCCESSOR, ratelimits: [api, hourly], credits: { ...credits, remaining: limits!.credits!.remaining }, rotatedFrom: KEY_ID }), now]);
    events.push([keyRotated({ toKeyId: SUCCESSOR, gracePeriodMs: DAY, expiresAt: iso(now + DAY) }), now]);
    limits = fold(events).get(SUCCESSOR);
    expect(limits!.windows).toEqual(fold(events).get(KEY_ID)!.windows);
    for (let round = 0; round < 20; round++) run(keyOf(next() < 0.5 ? KEY_ID : SUCCESSOR, SUCCESSOR), 10);
    expect(fold(events).get(SUCCESSOR)).toEqual(limits);
    expect(events.some(([e]) => e.type === "KeyUsed" && e.data.limitsOf === SUCCESSOR)).toBe(true);
  });
});

describe("a burst against limit 10 per 10 seconds", () => {
  const tenPerTen = keyCreated({ ratelimits: [api] });

  it("admits exactly 10, however many arrive at once", () => {
    let limits = fold([[tenPerTen, T0]]).get(KEY_ID);
    let valid = 0;
    for (let i = 0; i < 200; i++) {
      const result = verdict(keyOf(KEY_ID), limits, { service: "SMS", gatewayId: "gw" }, new Date(T0 + 5));
      if ("error" in result) throw new Error(JSON.stringify(result.error));
      if (result.verification.code === "VALID") valid++;
      limits = result.limits;
    }
    expect(valid).toBe(10);
  });

  it("never admits more than 10 in any 10 seconds of a spread-out stream", () => {
    const next = random(3);
    let limits = fold([[tenPerTen, T0]]).get(KEY_ID);
    let now = T0;
    const admitted: number[] = [];
    for (let i = 0; i < 2_000; i++) {
      now += Math.floor(next() * 400);
      const result = verdict(keyOf(KEY_ID), limits, { service: "SMS", gatewayId: "gw" }, new Date(now));
      if ("error" in result) throw new Error(JSON.stringify(result.error));
      if (result.verification.code === "VALID") admitted.push(now);
      limits = result.limits;
    }
    for (const from of admitted) expect(admitted.filter((t) => t >= from && t < from + api.durationMs).length).toBeLessThanOrEqual(10);
    expect(admitted.length).toBeGreaterThan(((now - T0) / api.durationMs) * 10 * 0.5);
  });
});
