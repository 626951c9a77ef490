import { describe, expect, it } from "vitest";
import { admit, checkRatelimit, regrid, subWindowMs, type Ratelimit, type WindowState } from "../../../src/domain/policies/ratelimit.js";

const tenPerTenSeconds: Ratelimit = { name: "api", limit: 10, durationMs: 10_000 };
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

/** Admits requests of `cost` at the given times, in order; returns which were admitted. */
function run(limit: Ratelimit, times: number[], cost = 1): boolean[] {
  let state: WindowState = [];
  return times.map((now) => {
    const outcome = checkRatelimit(state, limit, cost, now);
    if (outcome.admitted) state = admit(state, limit, cost, now);
    return outcome.admitted;
  });
}

describe("sliding-window rate limit", () => {
  it("admits exactly the limit from a burst", () => {
    const admitted = run(tenPerTenSeconds, Array.from({ length: 200 }, () => T0));
    expect(admitted.filter(Boolean)).toHaveLength(10);
    expect(admitted.slice(0, 10).every(Boolean)).toBe(true);
  });

  it("never admits more than the limit in any window, whatever the arrival pattern", () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const limit: Ratelimit = { name: "x", limit: 7, durationMs: 3_000 };
    const times: number[] = [];
    let now = T0;
    for (let i = 0; i < 2_000; i++) times.push((now += Math.floor(random() * 400)));
    const admitted = run(limit, times);
    const accepted = times.filter((_, i) => admitted[i]);
    for (const start of accepted) {
      const inWindow = accepted.filter((t) => t >= start && t < start + limit.durationMs).length;
      expect(inWindow).toBeLessThanOrEqual(limit.limit);
    }
    // and it is not needlessly strict: well over half the capacity is used under steady load
    expect(accepted.length).toBeGreaterThan(((times.at(-1)! - T0) / limit.durationMs) * limit.limit * 0.5);
  });

  it("admits again once the oldest cost has left the window, at resetAt", () => {
    let state: WindowState = [];
    for (let i = 0; i < 10; i++) state = admit(state, tenPerTenSeconds, 1, T0);
    const denied = checkRatelimit(state, tenPerTenSeconds, 1, T0 + 5_000);
    expect(denied).toMatchObject({ admitted: false, remaining: 0 });
    expect(checkRatelimit(state, tenPerTenSeconds, 1, denied.resetAt - 1).admitted).toBe(false);
    expect(checkRatelimit(state, tenPerTenSeconds, 1, denied.resetAt)).toMatchObject({ admitted: true, remaining: 9 });
  });

  it("weighs requests by cost, and a cost of 0 only checks", () => {
    let state: WindowState = [];
    expect(checkRatelimit(state, tenPerTenSeconds, 4, T0)).toMatchObject({ admitted: true, remaining: 6 });
    state = admit(state, tenPerTenSeconds, 4, T0);
    expect(checkRatelimit(state, tenPerTenSeconds, 7, T0)).toMatchObject({ admitted: false, remaining: 6 });
    expect(checkRatelimit(state, tenPerTenSeconds, 0, T0)).toMatchObject({ admitted: true, remaining: 6 });
    expect(admit(state, tenPerTenSeconds, 0, T0)).toEqual(state);
  });

  it("keeps a bounded state however many requests it admits", () => {
    const limit: Ratelimit = { name: "big", limit: 1_000_000, durationMs: 60_000 };
    let state: WindowState = [];
    for (let i = 0; i < 100_000; i++) state = admit(state, limit, 1, T0 + i * 7);
    expect(state.length).toBeLessThanOrEqual(61);
    expect(subWindowMs(limit.durationMs)).toBe(1_000);
  });
});

describe("a limit whose duration changes", () => {
  it("keeps every admission counted at least until its old span leaves the new window", () => {
    const hourly: Ratelimit = { name: "h", limit: 10, durationMs: 3_600_000 };
    const shorter: Ratelimit = { name: "h", limit: 10, durationMs: 60_000 };
    // Ten admissions late in one 60 s sub-window of the hourly limit.
    let state: WindowState = [];
    for (let i = 0; i < 10; i++) state = admit(state, hourly, 1, T0 + 59_000);
    const moved = regrid(state, hourly.durationMs, shorter.durationMs);
    // 30 s later they are all still inside the new 60 s window: nothing more is admitted.
    expect(checkRatelimit(moved, shorter, 1, T0 + 89_000).admitted).toBe(false);
    expect(moved.reduce((sum, [, cost]) => sum + cost, 0)).toBe(10);
    // Once their span has left the window, the limit admits again.
    expect(checkRatelimit(moved, shorter, 1, T0 + 59_000 + 61_000 + subWindowMs(shorter.durationMs)).admitted).toBe(true);
  });

  it("leaves a window alone when the sub-window width stays the same", () => {
    const state: WindowState = [[T0, 3]];
    expect(regrid(state, 10_000, 10_000)).toBe(state);
  });
});
