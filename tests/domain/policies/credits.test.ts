import { describe, expect, it } from "vitest";
import { lastBoundary, refillDue } from "../../../src/domain/policies/credits.js";

const at = (iso: string) => Date.parse(iso);

describe("credit refills", () => {
  it("refills daily at 00:00 UTC, once per boundary", () => {
    const credits = { remaining: 3, refill: { amount: 100, interval: "DAILY" as const, day: null }, lastRefillAt: at("2026-11-23T08:00:00Z") };
    expect(refillDue(credits, at("2026-11-23T23:59:59.999Z"))).toBeUndefined();
    expect(refillDue(credits, at("2026-11-24T00:00:00Z"))).toEqual({ remaining: 100, at: at("2026-11-24T00:00:00Z") });
    expect(refillDue({ ...credits, lastRefillAt: at("2026-11-24T00:00:00Z") }, at("2026-11-24T10:00:00Z"))).toBeUndefined();
    // several days without a verification: one refill, at the latest boundary
    expect(refillDue(credits, at("2026-11-27T05:00:00Z"))).toEqual({ remaining: 100, at: at("2026-11-27T00:00:00Z") });
  });

  it("refills monthly on its day, clamped to the month's length", () => {
    const monthly = (day: number) => ({ amount: 10, interval: "MONTHLY" as const, day });
    expect(lastBoundary(monthly(15), at("2026-11-23T00:00:00Z"))).toBe(at("2026-11-15T00:00:00Z"));
    expect(lastBoundary(monthly(25), at("2026-11-23T00:00:00Z"))).toBe(at("2026-10-25T00:00:00Z"));
    expect(lastBoundary(monthly(31), at("2027-02-28T00:00:00Z"))).toBe(at("2027-02-28T00:00:00Z"));
    expect(lastBoundary(monthly(31), at("2027-02-27T23:00:00Z"))).toBe(at("2027-01-31T00:00:00Z"));
    expect(lastBoundary(monthly(30), at("2028-02-29T12:00:00Z"))).toBe(at("2028-02-29T00:00:00Z"));
    expect(lastBoundary(monthly(31), at("2027-01-05T00:00:00Z"))).toBe(at("2026-12-31T00:00:00Z"));
  });

  it("does nothing without a refill", () => {
    expect(refillDue({ remaining: 0, lastRefillAt: 0 }, Date.now())).toBeUndefined();
  });
});
