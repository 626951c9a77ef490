import { beforeAll, describe, expect, it } from "vitest";
import type { GraphQLClient } from "graphql-request";
import {
  AddCreditsDocument,
  CreatePolicyKeyDocument,
  PolicyKeyDocument,
  RotateKeyDocument,
  UpdatePoliciesDocument,
  UsageOutcomesDocument,
  VerifyWithPoliciesDocument,
  type CreateApiKeyInput,
  type VerifyApiKeyInput,
} from "./generated/graphql.js";
import { clientFor, expectCode } from "./support/clients.js";
import { backendName } from "./support/databases.js";
import { useTestServer } from "./support/server.js";

/** The server's clock: tests move it instead of sleeping. */
let now = Date.parse("2026-11-24T10:00:00.000Z");
const clock = () => new Date(now);

describe(`key policies (${backendName})`, () => {
  const server = useTestServer({}, { clock });
  let alice: GraphQLClient;
  let gateway: GraphQLClient;

  beforeAll(async () => {
    alice = await clientFor(server.url, "alice");
    gateway = await clientFor(server.url, "gw-1", ["gateway"]);
  });

  const create = async (input: Partial<CreateApiKeyInput> = {}) =>
    (await alice.request(CreatePolicyKeyDocument, { input: { service: "SMS", name: "metered", ...input } })).createApiKey;
  const verify = async (key: string, input: Partial<VerifyApiKeyInput> = {}) =>
    (await gateway.request(VerifyWithPoliciesDocument, { input: { key, service: "SMS", ...input } })).verifyApiKey;

  it("spends exactly the credits, then answers USAGE_EXCEEDED without spending", async () => {
    const { secret, apiKey } = await create({ credits: { remaining: 3 } });
    expect(apiKey.credits).toMatchObject({ remaining: 3, refill: null });
    const answers = await Promise.all(Array.from({ length: 10 }, () => verify(secret)));
    expect(answers.filter((a) => a.code === "VALID")).toHaveLength(3);
    expect(answers.filter((a) => a.code === "USAGE_EXCEEDED")).toHaveLength(7);
    expect(answers.filter((a) => a.code === "VALID").map((a) => a.credits!.remaining).sort()).toEqual([0, 1, 2]);
    const key = (await alice.request(PolicyKeyDocument, { id: apiKey.id })).apiKey!;
    expect(key.credits!.remaining).toBe(0);
    const usage = await alice.request(UsageOutcomesDocument, { keyId: apiKey.id, from: new Date(now - 86_400_000).toISOString(), to: new Date(now + 86_400_000).toISOString() });
    const total = (field: "valid" | "usageExceeded" | "count") => usage.keyUsage.reduce((sum, b) => sum + b[field], 0);
    expect([total("valid"), total("count"), total("usageExceeded")]).toEqual([3, 3, 7]);
  });

  it("checks without spending at cost 0 and adds credits exactly", async () => {
    const { secret, apiKey } = await create({ credits: { remaining: 1 } });
    expect((await verify(secret, { cost: 0 })).credits!.remaining).toBe(1);
    const added = await alice.request(AddCreditsDocument, { input: { id: apiKey.id, amount: 4 } });
    expect(added.addCredits.apiKey.credits!.remaining).toBe(5);
    expect((await verify(secret, { cost: 5 })).credits!.remaining).toBe(0);
    const removed = await alice.request(AddCreditsDocument, { input: { id: apiKey.id, amount: -10 } });
    expect(removed.addCredits.apiKey.credits!.remaining).toBe(0);
    await expectCode(alice.request(AddCreditsDocument, { input: { id: apiKey.id, amount: 0 } }), "BAD_USER_INPUT", "amount");
  });

  it("admits exactly the limit of a burst and answers RATE_LIMITED with resetAt", async () => {
    const { secret } = await create({ ratelimits: [{ name: "requests", limit: 10, durationMs: 10_000 }] });
    const answers = await Promise.all(Array.from({ length: 50 }, () => verify(secret)));
    expect(answers.filter((a) => a.code === "VALID")).toHaveLength(10);
    const limited = answers.find((a) => a.code === "RATE_LIMITED")!;
    expect(limited.ratelimits[0]).toMatchObject({ name: "requests", limit: 10, remaining: 0 });
    expect(Date.parse(limited.ratelimits[0]!.resetAt)).toBeGreaterThan(now);
    now += 11_000;
    expect((await verify(secret)).code).toBe("VALID");
  });

  it("refills at the boundary as a fact, and expires by the clock", async () => {
    const { secret, apiKey } = await create({
      credits: { remaining: 1, refill: { amount: 2, interval: "DAILY" } },
      expiresAt: new Date(now + 3 * 86_400_000).toISOString(),
    });
    expect((await verify(secret)).code).toBe("VALID");
    expect((await verify(secret)).code).toBe("USAGE_EXCEEDED");
    now += 86_400_000;
    expect((await verify(secret)).credits!.remaining).toBe(1);
    now += 2 * 86_400_000;
    expect((await verify(secret)).code).toBe("EXPIRED");
    expect((await alice.request(PolicyKeyDocument, { id: apiKey.id })).apiKey!.expired).toBe(true);
  });

  it("checks permissions and returns meta", async () => {
    const { secret } = await create({ permissions: ["sms.send", "reports.*"], meta: { plan: "pro" } });
    const ok = await verify(secret, { permissions: ["sms.send", "reports.read"] });
    expect(ok).toMatchObject({ code: "VALID", meta: { plan: "pro" }, permissions: ["reports.*", "sms.send"] });
    expect((await verify(secret, { permissions: ["sms.admin"] })).code).toBe("INSUFFICIENT_PERMISSIONS");
    await expectCode(verify(secret, { ratelimits: [{ name: "nope" }] }), "BAD_USER_INPUT", "ratelimits[0].name");
  });

  it("rotates: the new key takes over the balance, the old one answers until the grace period ends", async () => {
    const { secret, apiKey } = await create({ credits: { remaining: 5 }, permissions: ["a"], ratelimits: [{ name: "r", limit: 100, durationMs: 60_000 }] });
    expect((await verify(secret)).credits!.remaining).toBe(4);
    const rotated = (await alice.request(RotateKeyDocument, { input: { id: apiKey.id, gracePeriodMs: 60_000 } })).rotateApiKey;
    expect(rotated.apiKey).toMatchObject({ name: "metered", permissions: ["a"], credits: { remaining: 4 }, rotatedFrom: { id: apiKey.id } });
    expect(rotated.previous.rotatedTo!.id).toBe(rotated.apiKey.id);
    expect((await verify(secret)).credits!.remaining).toBe(3);
    expect((await verify(rotated.secret)).credits!.remaining).toBe(2);
    now += 61_000;
    expect((await verify(secret)).code).toBe("EXPIRED");
    expect((await verify(rotated.secret)).code).toBe("VALID");
    await expectCode(alice.request(RotateKeyDocument, { input: { id: apiKey.id } }), "CONFLICT");
  });

  it("updates policies and refuses bad input naming the field", async () => {
    const { apiKey } = await create();
    const updated = await alice.request(UpdatePoliciesDocument, { input: { id: apiKey.id, permissions: ["x"], credits: { remaining: 9 } } });
    expect(updated.updateApiKey.apiKey).toMatchObject({ permissions: ["x"], credits: { remaining: 9 }, version: 3 });
    const cleared = await alice.request(UpdatePoliciesDocument, { input: { id: apiKey.id, credits: null } });
    expect(cleared.updateApiKey.apiKey.credits).toBeNull();
    await expectCode(create({ ratelimits: [{ name: "r", limit: 0, durationMs: 1000 }] }), "BAD_USER_INPUT", "ratelimits[0].limit");
    await expectCode(create({ expiresAt: new Date(now - 1).toISOString() }), "BAD_USER_INPUT", "expiresAt");
  });
});
