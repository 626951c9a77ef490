import { describe, expect, it } from "vitest";
import { apiKeyDecider, type ApiKeyCommand } from "../../src/domain/api-key.js";
import { conflict, invalid } from "../../src/domain/errors.js";
import type { PolicyChanges } from "../../src/domain/policies/key-policies.js";
import { DeciderSpecification } from "./decider-specification.js";
import {
  creditsAdded,
  createCommand,
  DAY,
  HOUR,
  iso,
  keyCreated,
  keyCreditsSet,
  keyExpirySet,
  keyMetaSet,
  keyPermissionsSet,
  keyRatelimitsSet,
  keyRevoked,
  keyRotated,
  keyToggled,
  keyUpdated,
  NOW,
} from "./fixtures.js";

const given = DeciderSpecification.for(apiKeyDecider);
const SUCCESSOR = "5d1c8a2e-93b4-4f0a-8e7d-2b6c4a9f1e03";
const api = { name: "api", limit: 10, durationMs: 10_000 };
const daily = { name: "daily", limit: 1_000, durationMs: DAY };
const create = (policies: PolicyChanges) => createCommand({ policies });
const update = (policies: PolicyChanges, extra: { name?: string } = {}): ApiKeyCommand => ({ kind: "update", ...extra, policies, now: NOW });
const rotate = (gracePeriodMs: number, now = NOW): ApiKeyCommand => ({ kind: "rotate", toKeyId: SUCCESSOR, gracePeriodMs, now });
const addCredits = (amount: number, remaining: number): ApiKeyCommand => ({ kind: "addCredits", amount, remaining });
const revoked = [keyCreated({ credits: { remaining: 5, refill: null } }), keyRevoked()];

/** Policies that are wrong in one field, the field the refusal names, and (a prefix of) its message. */
const BAD_POLICIES: Array<[what: string, policies: PolicyChanges, field: string, message: string]> = [
  ["a limit below 1", { ratelimits: [{ ...api, limit: 0 }] }, "ratelimits[0].limit", "limit must be between 1 and 1000000"],
  ["a limit above 1,000,000", { ratelimits: [api, { ...daily, limit: 1_000_001 }] }, "ratelimits[1].limit", "limit must be between 1 and 1000000"],
  ["a fractional limit", { ratelimits: [{ ...api, limit: 1.5 }] }, "ratelimits[0].limit", "limit must be between 1 and 1000000"],
  ["a duration below a second", { ratelimits: [{ ...api, durationMs: 999 }] }, "ratelimits[0].durationMs", "durationMs must be between 1000 (one second) and 2592000000 (30 days)"],
  ["a duration above 30 days", { ratelimits: [{ ...api, durationMs: 30 * DAY + 1 }] }, "ratelimits[0].durationMs", "durationMs must be between 1000 (one second) and 2592000000 (30 days)"],
  ["two rate limits with one name", { ratelimits: [api, { ...daily, name: "api" }] }, "ratelimits[1].name", "two rate limits are named api"],
  ["more than 10 rate limits", { ratelimits: Array.from({ length: 11 }, (_, i) => ({ ...api, name: `l${i}` })) }, "ratelimits", "at most 10 rate limits per key"],
  ["a rate limit's name that is no permission-like name", { ratelimits: [{ ...api, name: "Bad Name" }] }, "ratelimits[0].name", "a rate limit's name is 1 to 64 of a-z 0-9 _ . : * -"],
  ["an upper-case permission", { permissions: ["sms.send", "SMS.send"] }, "permissions", "a permission is 1 to 64 of a-z 0-9 _ . : * -"],
  ["an empty permission", { permissions: [""] }, "permissions", "a permission is 1 to 64 of a-z 0-9 _ . : * -"],
  ["a permission with a space", { permissions: ["sms send"] }, "permissions", "a permission is 1 to 64 of a-z 0-9 _ . : * -"],
  ["a permission of 65 characters", { permissions: ["p".repeat(65)] }, "permissions", "a permission is 1 to 64 of a-z 0-9 _ . : * -"],
  ["more than 100 permissions", { permissions: Array.from({ length: 101 }, (_, i) => `p${i}`) }, "permissions", "at most 100 permissions"],
  ["meta that is an array", { meta: [1, 2] as unknown as Record<string, unknown> }, "meta", "meta must be a JSON object"],
  ["meta that is a string", { meta: "plan" as unknown as Record<string, unknown> }, "meta", "meta must be a JSON object"],
  ["meta over 8 KiB", { meta: { blob: "x".repeat(8 * 1024) } }, "meta", "meta must be at most 8 KiB as JSON"],
  ["an expiry in the past", { expiresAt: NOW - 1 }, "expiresAt", "expiresAt must be in the future"],
  ["an expiry of exactly now", { expiresAt: NOW }, "expiresAt", "expiresAt must be in the future"],
  ["an expiry that is no time", { expiresAt: Number.NaN }, "expiresAt", "expiresAt is not a time"],
  ["negative remaining credits", { credits: { remaining: -1, refill: null } }, "credits.remaining", "remaining must not be negative"],
  ["a refill amount below 1", { credits: { remaining: 0, refill: { amount: 0, interval: "DAILY", day: null } } }, "credits.refill.amount", "a refill's amount must be at least 1"],
  ["a refill day of 0", { credits: { remaining: 0, refill: { amount: 5, interval: "MONTHLY", day: 0 } } }, "credits.refill.day", "day must be between 1 and 31"],
  ["a refill day of 32", { credits: { remaining: 0, refill: { amount: 5, interval: "MONTHLY", day: 32 } } }, "credits.refill.day", "day must be between 1 and 31"],
  ["a refill day for a DAILY refill", { credits: { remaining: 0, refill: { amount: 5, interval: "DAILY", day: 1 } } }, "credits.refill.day", "day is for MONTHLY refills only"],
];

describe("create with policies", () => {
  it("records no policy for a command that gives none", () => {
    given([]).when(createCommand()).then(keyCreated());
    given([]).when(create({})).then(keyCreated());
  });

  it("records an expiry as an ISO instant", () => {
    given([]).when(create({ expiresAt: NOW + DAY })).then(keyCreated({ expiresAt: iso(NOW + DAY) }));
    given([]).when(create({ expiresAt: NOW + 1 })).then(keyCreated({ expiresAt: iso(NOW + 1) }));
    given([]).when(create({ expiresAt: null })).then(keyCreated());
  });

  it("keeps permissions sorted and unique, wildcards included", () => {
    given([]).when(create({ permissions: ["sms.send", "billing:*", "sms.send", "a-b_c"] })).then(keyCreated({ permissions: ["a-b_c", "billing:*", "sms.send"] }));
    given([]).when(create({ permissions: ["p".repeat(64), ...Array.from({ length: 99 }, (_, i) => `p${i}`)] })).then(
      keyCreated({ permissions: [...Array.from({ length: 99 }, (_, i) => `p${i}`), "p".repeat(64)].sort() }),
    );
  });

  it("records meta as given, up to 8 KiB", () => {
    const meta = { plan: "pro", limits: { seats: 3 }, tags: ["a"] };
    given([]).when(create({ meta })).then(keyCreated({ meta }));
    const big = { blob: "x".repeat(8 * 1024 - '{"blob":""}'.length) };
    given([]).when(create({ meta: big })).then(keyCreated({ meta: big }));
    given([]).when(create({ meta: {} })).then(keyCreated({ meta: {} }));
  });

  it("records rate limits at their bounds, keeping only name, limit and duration", () => {
    const bounds = [
      { name: "min", limit: 1, durationMs: 1_000 },
      { name: "max", limit: 1_000_000, durationMs: 30 * DAY },
    ];
    given([]).when(create({ ratelimits: bounds })).then(keyCreated({ ratelimits: bounds }));
    const withExtra = [{ ...api, extra: true } as typeof api];
    given([]).when(create({ ratelimits: withExtra })).then(keyCreated({ ratelimits: [api] }));
    const ten = Array.from({ length: 10 }, (_, i) => ({ ...api, name: `l${i}` }));
    given([]).when(create({ ratelimits: ten })).then(keyCreated({ ratelimits: ten }));
  });

  it("records credits with no refill, a DAILY refill, or a MONTHLY one on its day (1 by default)", () => {
    given([]).when(create({ credits: { remaining: 0, refill: null } })).then(keyCreated({ credits: { remaining: 0, refill: null } }));
    given([])
      .when(create({ credits: { remaining: 100, refill: { amount: 100, interval: "DAILY", day: null } } }))
      .then(keyCreated({ credits: { remaining: 100, refill: { amount: 100, interval: "DAILY", day: null } } }));
    given([])
      .when(create({ credits: { remaining: 5, refill: { amount: 50, interval: "MONTHLY", day: 31 } } }))
      .then(keyCreated({ credits: { remaining: 5, refill: { amount: 50, interval: "MONTHLY", day: 31 } } }));
    given([])
      .when(create({ credits: { remaining: 5, refill: { amount: 50, interval: "MONTHLY", day: null } } }))
      .then(keyCreated({ credits: { remaining: 5, refill: { amount: 50, interval: "MONTHLY", day: 1 } } }));
  });

  it("records every policy at once, and the key it replaces", () => {
    const policies = { expiresAt: NOW + HOUR, permissions: ["b", "a"], meta: { m: 1 }, ratelimits: [api], credits: { remaining: 3, refill: null } };
    given([])
      .when(createCommand({ policies, rotatedFrom: SUCCESSOR }))
      .then(keyCreated({ expiresAt: iso(NOW + HOUR), permissions: ["a", "b"], meta: { m: 1 }, ratelimits: [api], credits: { remaining: 3, refill: null }, rotatedFrom: SUCCESSOR }));
  });

  it.each(BAD_POLICIES)("refuses %s, naming the field", (_, policies, field, message) => {
    given([]).when(create(policies)).thenFails(invalid(field, message));
  });

  it("checks the name before the policies", () => {
    given([]).when(createCommand({ name: "", policies: { expiresAt: NOW - 1 } })).thenFails(invalid("name", "name must not be empty"));
  });
});

describe("update of policies", () => {
  const current = keyCreated({
    expiresAt: iso(NOW + DAY),
    permissions: ["a", "b"],
    meta: { plan: "pro" },
    ratelimits: [api],
    credits: { remaining: 10, refill: null },
  });

  it("records each policy that really changes, with its own event", () => {
    given(current).when(update({ expiresAt: NOW + 2 * DAY })).then(keyExpirySet({ expiresAt: iso(NOW + 2 * DAY) }));
    given(current).when(update({ permissions: ["c"] })).then(keyPermissionsSet({ permissions: ["c"] }));
    given(current).when(update({ meta: { plan: "free" } })).then(keyMetaSet({ meta: { plan: "free" } }));
    given(current).when(update({ ratelimits: [api, daily] })).then(keyRatelimitsSet({ ratelimits: [api, daily] }));
    given(current).when(update({ credits: { remaining: 50, refill: null } })).then(keyCreditsSet({ credits: { remaining: 50, refill: null } }));
  });

  it("records the changes in one decision, after a rename", () => {
    given(current)
      .when(update({ expiresAt: null, permissions: [], meta: null, ratelimits: [], credits: null }, { name: "renamed" }))
      .then([
        keyUpdated({ name: { from: "checkout", to: "renamed" } }),
        keyExpirySet({ expiresAt: null }),
        keyPermissionsSet({ permissions: [] }),
        keyMetaSet({ meta: null }),
        keyRatelimitsSet({ ratelimits: [] }),
        keyCreditsSet({ credits: null }),
      ]);
  });

  it("records nothing for policies that stay the same", () => {
    given(current)
      .when(update({ expiresAt: NOW + DAY, permissions: ["b", "a", "a"], meta: { plan: "pro" }, ratelimits: [api] }))
      .thenNothingHappened();
    given(current).when(update({})).thenNothingHappened();
    given(keyCreated()).when(update({ expiresAt: null, meta: null, credits: null, permissions: [], ratelimits: [] })).thenNothingHappened();
  });

  it("clears expiry, meta and credits with an explicit null, and leaves them alone when absent", () => {
    given(current).when(update({ expiresAt: null })).then(keyExpirySet({ expiresAt: null }));
    given(current).when(update({ meta: null })).then(keyMetaSet({ meta: null }));
    given(current).when(update({ credits: null })).then(keyCreditsSet({ credits: null }));
    given(current).when(update({ expiresAt: undefined, meta: undefined, credits: undefined })).thenNothingHappened();
  });

  it("replaces lists whole: permissions sorted and unique, rate limits as given", () => {
    given(current).when(update({ permissions: ["z", "a", "z"] })).then(keyPermissionsSet({ permissions: ["a", "z"] }));
    given(current).when(update({ permissions: ["a"] })).then(keyPermissionsSet({ permissions: ["a"] }));
    given(current).when(update({ ratelimits: [daily] })).then(keyRatelimitsSet({ ratelimits: [daily] }));
    given(current).when(update({ ratelimits: [{ ...api, limit: 11 }] })).then(keyRatelimitsSet({ ratelimits: [{ ...api, limit: 11 }] }));
  });

  it("always records credits that are given: they set the balance, whatever it is now", () => {
    given(current).when(update({ credits: { remaining: 10, refill: null } })).then(keyCreditsSet({ credits: { remaining: 10, refill: null } }));
    given(current)
      .when(update({ credits: { remaining: 1, refill: { amount: 5, interval: "MONTHLY", day: null } } }))
      .then(keyCreditsSet({ credits: { remaining: 1, refill: { amount: 5, interval: "MONTHLY", day: 1 } } }));
  });

  it("compares with the policies after earlier changes", () => {
    const history = [current, keyPermissionsSet({ permissions: ["x"] }), keyMetaSet({ meta: null }), keyExpirySet({ expiresAt: null }), keyRatelimitsSet({ ratelimits: [] })];
    given(history).when(update({ permissions: ["x"], meta: null, expiresAt: null, ratelimits: [] })).thenNothingHappened();
    given(history).when(update({ permissions: ["a", "b"] })).then(keyPermissionsSet({ permissions: ["a", "b"] }));
    given([current, keyCreditsSet({ credits: null })]).when(update({ credits: null })).thenNothingHappened();
  });

  it("edits the policies of an inactive key", () => {
    given([current, keyToggled("ACTIVE", "INACTIVE")]).when(update({ permissions: [] })).then(keyPermissionsSet({ permissions: [] }));
  });

  it.each(BAD_POLICIES)("refuses %s, naming the field, and records nothing else of the update", (_, policies, field, message) => {
    given(current).when(update(policies, { name: "renamed" })).thenFails(invalid(field, message));
  });

  it("refuses any update of a revoked key: CONFLICT", () => {
    const final = conflict("The key is revoked and can no longer be edited");
    given(revoked).when(update({ permissions: ["a"] })).thenFails(final);
    given(revoked).when(update({})).thenFails(final);
    given(revoked).when(update({ expiresAt: NOW - 1 })).thenFails(final);
  });

  it("refuses policy changes on a rotated key (CONFLICT), but not a rename or a no-op", () => {
    const rotated = [current, keyRotated({ toKeyId: SUCCESSOR, gracePeriodMs: HOUR, expiresAt: iso(NOW + HOUR) })];
    const onSuccessor = conflict("The key was rotated: change its policies on the key that replaced it");
    given(rotated).when(update({ permissions: ["c"] })).thenFails(onSuccessor);
    given(rotated).when(update({ credits: { remaining: 1, refill: null } })).thenFails(onSuccessor);
    given(rotated).when(update({ expiresAt: null })).thenFails(onSuccessor);
    given(rotated).when(update({ permissions: ["a", "b"] })).thenNothingHappened();
    given(rotated).when(update({}, { name: "old" })).then(keyUpdated({ name: { from: "checkout", to: "old" } }));
  });

  // BUG (src/domain/policies/key-policies.ts samePolicyValue): meta is compared as JSON text, so
  // the same object with its keys in another order counts as a change. The event store keeps data
  // as JSONB, which reorders keys (shorter first), so after a read-back resubmitting the very meta
  // the key was given ({"plan":…,"id":…} comes back as {"id":…,"plan":…}) appends a KeyMetaSet.
  it("records no KeyMetaSet for the same meta with its keys in another order", () => {
    given(keyCreated({ meta: { id: 7, plan: "pro" } })).when(update({ meta: { plan: "pro", id: 7 } })).thenNothingHappened();
  });

  it("answers not found for a key that does not exist", () => {
    given([]).when(update({ meta: null })).thenFails({ kind: "not_found" });
  });
});

describe("addCredits", () => {
  const metered = keyCreated({ credits: { remaining: 10, refill: null } });

  it("adds to the balance read under the key's lock", () => {
    given(metered).when(addCredits(5, 3)).then(creditsAdded({ amount: 5, remaining: 8 }));
    given(metered).when(addCredits(1_000_000_000, 0)).then(creditsAdded({ amount: 1_000_000_000, remaining: 1_000_000_000 }));
  });

  it("removes with a negative amount, never below 0", () => {
    given(metered).when(addCredits(-2, 3)).then(creditsAdded({ amount: -2, remaining: 1 }));
    given(metered).when(addCredits(-3, 3)).then(creditsAdded({ amount: -3, remaining: 0 }));
    given(metered).when(addCredits(-50, 3)).then(creditsAdded({ amount: -50, remaining: 0 }));
  });

  it("refuses 0, a fraction or more than 1,000,000,000 either way", () => {
    const bad = invalid("amount", "amount must be a whole number other than 0, at most 1000000000 either way");
    for (const amount of [0, 1.5, -0.5, Number.NaN, 1_000_000_001, -1_000_000_001]) given(metered).when(addCredits(amount, 3)).thenFails(bad);
  });

  it("refuses a key without credits, a revoked key and a rotated key: CONFLICT", () => {
    given(keyCreated()).when(addCredits(5, 0)).thenFails(conflict("The key has no credits: set credits with updateApiKey first"));
    given([metered, keyCreditsSet({ credits: null })]).when(addCredits(5, 0)).thenFails(conflict("The key has no credits: set credits with updateApiKey first"));
    given(revoked).when(addCredits(5, 5)).thenFails(conflict("The key is revoked and can no longer be edited"));
    given([metered, keyRotated({ toKeyId: SUCCESSOR, gracePeriodMs: 0, expiresAt: iso(NOW) })])
      .when(addCredits(5, 5))
      .thenFails(conflict("The key was rotated: add credits to the key that replaced it"));
  });

  it("adds credits to an inactive key, and to one whose credits were set later", () => {
    given([metered, keyToggled("ACTIVE", "INACTIVE")]).when(addCredits(1, 0)).then(creditsAdded({ amount: 1, remaining: 1 }));
    given([keyCreated(), keyCreditsSet({ credits: { remaining: 0, refill: null } })]).when(addCredits(2, 0)).then(creditsAdded({ amount: 2, remaining: 2 }));
  });

  it("answers not found for a key that does not exist", () => {
    given([]).when(addCredits(1, 0)).thenFails({ kind: "not_found" });
  });
});

describe("rotate", () => {
  const rotated = (gracePeriodMs: number, expiresAt: number) => keyRotated({ toKeyId: SUCCESSOR, gracePeriodMs, expiresAt: iso(expiresAt) });

  it("lets the old key answer for the grace period: it expires at now + grace", () => {
    given(keyCreated()).when(rotate(HOUR)).then(rotated(HOUR, NOW + HOUR));
    given(keyCreated()).when(rotate(0)).then(rotated(0, NOW));
    given(keyCreated()).when(rotate(7 * DAY)).then(rotated(7 * DAY, NOW + 7 * DAY));
  });

  it("never extends an earlier expiry: expiresAt is the sooner of the two", () => {
    given(keyCreated({ expiresAt: iso(NOW + 10 * 60_000) })).when(rotate(HOUR)).then(rotated(HOUR, NOW + 10 * 60_000));
    given(keyCreated({ expiresAt: iso(NOW + DAY) })).when(rotate(HOUR)).then(rotated(HOUR, NOW + HOUR));
    given([keyCreated({ expiresAt: iso(NOW + DAY) }), keyExpirySet({ expiresAt: iso(NOW + 1) })]).when(rotate(HOUR)).then(rotated(HOUR, NOW + 1));
  });

  it("refuses to rotate a switched-off key: its successor would be a working key", () => {
    given([keyCreated(), keyToggled("ACTIVE", "INACTIVE")])
      .when(rotate(HOUR))
      .thenFails(conflict("The key is switched off: switch it on before rotating it"));
  });

  it("refuses a grace period outside 0 to 7 days", () => {
    const bad = invalid("gracePeriodMs", "gracePeriodMs must be between 0 and 7 days");
    for (const grace of [-1, 7 * DAY + 1, 1.5, Number.NaN]) given(keyCreated()).when(rotate(grace)).thenFails(bad);
    given(revoked).when(rotate(-1)).thenFails(bad);
  });

  it("refuses a revoked, an already rotated or an expired key: CONFLICT", () => {
    given(revoked).when(rotate(HOUR)).thenFails(conflict("The key is revoked: a revoked key cannot be rotated"));
    given([keyCreated(), rotated(HOUR, NOW + HOUR)]).when(rotate(HOUR)).thenFails(conflict("The key was already rotated"));
    given([keyCreated(), rotated(0, NOW - 1)]).when(rotate(HOUR)).thenFails(conflict("The key was already rotated"));
    const expired = conflict("The key has expired: an expired key cannot be rotated");
    given(keyCreated({ expiresAt: iso(NOW) })).when(rotate(HOUR)).thenFails(expired);
    given(keyCreated({ expiresAt: iso(NOW + 1) })).when(rotate(HOUR, NOW + 2)).thenFails(expired);
  });

  it("answers not found for a key that does not exist", () => {
    given([]).when(rotate(HOUR)).thenFails({ kind: "not_found" });
  });
});

describe("evolve of policy events", () => {
  const fold = (...events: Parameters<typeof apiKeyDecider.evolve>[1][]) => events.reduce(apiKeyDecider.evolve, apiKeyDecider.initialState());
  const credits = { remaining: 4, refill: { amount: 5, interval: "MONTHLY" as const, day: 3 } };

  it("reads the policies of KeyCreated, expiry as ms", () => {
    expect(fold(keyCreated({ expiresAt: iso(NOW + DAY), permissions: ["a"], meta: { m: 1 }, ratelimits: [api], credits }))).toMatchObject({
      policies: { expiresAt: NOW + DAY, permissions: ["a"], meta: { m: 1 }, ratelimits: [api], credits },
      rotatedTo: null,
    });
  });

  it("applies each policy event, leaving the others", () => {
    const start = keyCreated({ expiresAt: iso(NOW + DAY), permissions: ["a"], meta: { m: 1 }, ratelimits: [api], credits });
    expect(fold(start, keyExpirySet({ expiresAt: null }))).toMatchObject({ policies: { expiresAt: null, permissions: ["a"] } });
    expect(fold(start, keyExpirySet({ expiresAt: iso(NOW + HOUR) }))).toMatchObject({ policies: { expiresAt: NOW + HOUR } });
    expect(fold(start, keyPermissionsSet({ permissions: [] }))).toMatchObject({ policies: { permissions: [], meta: { m: 1 } } });
    expect(fold(start, keyMetaSet({ meta: null }))).toMatchObject({ policies: { meta: null, ratelimits: [api] } });
    expect(fold(start, keyRatelimitsSet({ ratelimits: [daily] }))).toMatchObject({ policies: { ratelimits: [daily], credits } });
    expect(fold(start, keyCreditsSet({ credits: null }))).toMatchObject({ policies: { credits: null, expiresAt: NOW + DAY } });
    // the balance lives in the key's limits account, not in its decision state
    expect(fold(start, creditsAdded({ amount: 5, remaining: 9 }))).toEqual(fold(start));
  });

  it("marks a rotated key with its successor and the grace period's end as its expiry", () => {
    expect(fold(keyCreated(), keyRotated({ toKeyId: SUCCESSOR, gracePeriodMs: HOUR, expiresAt: iso(NOW + HOUR) }))).toMatchObject({
      rotatedTo: SUCCESSOR,
      policies: { expiresAt: NOW + HOUR },
    });
  });

  it("ignores policy events of a key it never saw created", () => {
    expect(fold(keyMetaSet({ meta: null }), keyRotated({ toKeyId: SUCCESSOR, gracePeriodMs: 0, expiresAt: iso(NOW) }))).toBeUndefined();
  });
});
