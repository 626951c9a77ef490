import { beforeAll, describe, expect, it } from "vitest";
import type { GraphQLClient } from "graphql-request";
import {
  AddCreditsDocument,
  CreatePolicyKeyDocument,
  RevokeKeyDocument,
  RotateKeyDocument,
  UpdatePoliciesDocument,
  VerifyWithPoliciesDocument,
  type CreateApiKeyInput,
  type UpdateApiKeyInput,
  type VerifyApiKeyInput,
} from "./generated/graphql.js";
import { clientFor, expectCode } from "./support/clients.js";
import { backendName } from "./support/databases.js";
import { useTestServer } from "./support/server.js";

const DAY = 86_400_000;
const now = Date.parse("2026-11-24T10:00:00.000Z");
const limit = (name: string, extra: Partial<{ limit: number; durationMs: number }> = {}) => ({ name, limit: 10, durationMs: 10_000, ...extra });

/** Every policy value the issue refuses: the create input, and the field the error must name. */
const BAD_POLICIES: Array<[string, Partial<CreateApiKeyInput>, string]> = [
  ["limit below 1", { ratelimits: [limit("r", { limit: 0 })] }, "ratelimits[0].limit"],
  ["limit above 1,000,000", { ratelimits: [limit("a"), limit("r", { limit: 1_000_001 })] }, "ratelimits[1].limit"],
  ["durationMs below one second", { ratelimits: [limit("r", { durationMs: 999 })] }, "ratelimits[0].durationMs"],
  // durationMs is a SafeInt: 30 days (2,592,000,000 ms) is past GraphQL Int's 2^31 - 1.
  ["durationMs above 30 days", { ratelimits: [limit("r", { durationMs: 30 * DAY + 1 })] }, "ratelimits[0].durationMs"],
  ["two rate limits with one name", { ratelimits: [limit("r"), limit("r")] }, "ratelimits[1].name"],
  ["more than 10 rate limits", { ratelimits: Array.from({ length: 11 }, (_, i) => limit(`r${i}`)) }, "ratelimits"],
  ["a permission with a capital", { permissions: ["sms.Send"] }, "permissions"],
  ["a permission of 65 characters", { permissions: ["a".repeat(65)] }, "permissions"],
  ["an empty permission", { permissions: [""] }, "permissions"],
  ["more than 100 permissions", { permissions: Array.from({ length: 101 }, (_, i) => `p${i}`) }, "permissions"],
  ["meta over 8 KiB", { meta: { blob: "x".repeat(8 * 1024) } }, "meta"],
  ["expiresAt in the past", { expiresAt: new Date(now - 1_000).toISOString() }, "expiresAt"],
  ["expiresAt now", { expiresAt: new Date(now).toISOString() }, "expiresAt"],
  ["remaining below 0", { credits: { remaining: -1 } }, "credits.remaining"],
  ["refill amount below 1", { credits: { remaining: 1, refill: { amount: 0, interval: "DAILY" } } }, "credits.refill.amount"],
  ["day 0", { credits: { remaining: 1, refill: { amount: 1, interval: "MONTHLY", day: 0 } } }, "credits.refill.day"],
  ["day 32", { credits: { remaining: 1, refill: { amount: 1, interval: "MONTHLY", day: 32 } } }, "credits.refill.day"],
  ["day for a DAILY refill", { credits: { remaining: 1, refill: { amount: 1, interval: "DAILY", day: 1 } } }, "credits.refill.day"],
];

describe(`key policies: bad input is refused naming the field, appending nothing (${backendName})`, () => {
  /** The server's clock: only the expiry case moves it, and puts it back. */
  let serverNow = now;
  const server = useTestServer({}, { clock: () => new Date(serverNow) });
  let alice: GraphQLClient;
  let gateway: GraphQLClient;
  let key: { id: string; secret: string };

  beforeAll(async () => {
    alice = await clientFor(server.url, "alice");
    gateway = await clientFor(server.url, "gw", ["gateway"]);
    const created = await alice.request(CreatePolicyKeyDocument, {
      input: { service: "SMS", name: "target", credits: { remaining: 5 }, ratelimits: [limit("requests")] },
    });
    key = { id: created.createApiKey.apiKey.id, secret: created.createApiKey.secret };
  });

  /** Expects the request to fail with BAD_USER_INPUT naming `field`, and the log to be as long as before. */
  async function refused(request: () => Promise<unknown>, field: string): Promise<void> {
    const before = (await server.services.store.head()).position;
    await expectCode(request(), "BAD_USER_INPUT", field);
    expect((await server.services.store.head()).position).toBe(before);
  }

  const create = (input: Partial<CreateApiKeyInput>) => alice.request(CreatePolicyKeyDocument, { input: { service: "SMS", name: "bad", ...input } });
  const update = (input: Partial<UpdateApiKeyInput>) => alice.request(UpdatePoliciesDocument, { input: { id: key.id, ...input } });
  const verify = (input: Partial<VerifyApiKeyInput>) => gateway.request(VerifyWithPoliciesDocument, { input: { key: key.secret, service: "SMS", ...input } });

  it.each(BAD_POLICIES)("createApiKey refuses %s", async (_name, input, field) => {
    await refused(() => create(input), field);
  });

  it.each(BAD_POLICIES)("updateApiKey refuses %s", async (_name, input, field) => {
    await refused(() => update(input as Partial<UpdateApiKeyInput>), field);
  });

  it("refuses meta that is not a JSON object", async () => {
    for (const meta of [[1, 2], "text", 3]) {
      const before = (await server.services.store.head()).position;
      await expect(create({ meta: meta as unknown as Record<string, unknown> })).rejects.toThrow(/meta|JSONObject|object/i);
      expect((await server.services.store.head()).position).toBe(before);
    }
  });

  it("rotateApiKey refuses a grace period outside 0 to 7 days", async () => {
    await refused(() => alice.request(RotateKeyDocument, { input: { id: key.id, gracePeriodMs: -1 } }), "gracePeriodMs");
    await refused(() => alice.request(RotateKeyDocument, { input: { id: key.id, gracePeriodMs: 7 * DAY + 1 } }), "gracePeriodMs");
  });

  it("verifyApiKey refuses a cost outside 0 to 1000, bad permissions and a rate limit the key does not have, spending nothing", async () => {
    await refused(() => verify({ cost: -1 }), "cost");
    await refused(() => verify({ cost: 1_001 }), "cost");
    await refused(() => verify({ ratelimits: [{ name: "requests", cost: 1_001 }] }), "ratelimits[0].cost");
    await refused(() => verify({ ratelimits: [{ name: "requests", cost: -1 }] }), "ratelimits[0].cost");
    await refused(() => verify({ ratelimits: [{ name: "requests" }, { name: "elsewhere" }] }), "ratelimits[1].name");
    await refused(() => verify({ permissions: ["Not Valid"] }), "permissions");
    await refused(() => verify({ permissions: Array.from({ length: 101 }, (_, i) => `p${i}`) }), "permissions");
    // None of those spent a credit or a slot of the window: the bounds themselves are accepted.
    const ok = (await verify({ cost: 5, ratelimits: [{ name: "requests", cost: 10 }] })).verifyApiKey;
    expect(ok).toMatchObject({ code: "VALID", credits: { remaining: 0 }, ratelimits: [{ name: "requests", remaining: 0 }] });
  });

  it("addCredits refuses a balance above 2^31 - 1, the largest the GraphQL answers carry, and the key stays readable", async () => {
    const { apiKey, secret } = (await create({ credits: { remaining: 2_000_000_000 } })).createApiKey;
    await refused(() => alice.request(AddCreditsDocument, { input: { id: apiKey.id, amount: 1_000_000_000 } }), "amount");
    const topped = await alice.request(AddCreditsDocument, { input: { id: apiKey.id, amount: 2 ** 31 - 1 - 2_000_000_000 } });
    expect(topped.addCredits.apiKey.credits!.remaining).toBe(2 ** 31 - 1);
    expect((await verify({ key: secret })).verifyApiKey.credits!.remaining).toBe(2 ** 31 - 2);
  });

  it("refuses with CONFLICT, appending nothing, changes to a rotated key and rotating a revoked or expired one", async () => {
    const conflict = async (request: () => Promise<unknown>) => {
      const before = (await server.services.store.head()).position;
      await expectCode(request(), "CONFLICT");
      expect((await server.services.store.head()).position).toBe(before);
    };
    const rotating = (await create({ credits: { remaining: 3 } })).createApiKey.apiKey.id;
    await alice.request(RotateKeyDocument, { input: { id: rotating, gracePeriodMs: 60_000 } });
    await conflict(() => alice.request(AddCreditsDocument, { input: { id: rotating, amount: 5 } }));
    await conflict(() => alice.request(UpdatePoliciesDocument, { input: { id: rotating, credits: { remaining: 9 } } }));
    await conflict(() => alice.request(UpdatePoliciesDocument, { input: { id: rotating, permissions: ["sms.send"] } }));
    await conflict(() => alice.request(RotateKeyDocument, { input: { id: rotating } }));
    const revoked = (await create({})).createApiKey.apiKey.id;
    await alice.request(RevokeKeyDocument, { input: { id: revoked } });
    await conflict(() => alice.request(RotateKeyDocument, { input: { id: revoked } }));
    const expiring = (await create({ expiresAt: new Date(now + 1_000).toISOString() })).createApiKey.apiKey.id;
    serverNow = now + 2_000;
    try {
      await conflict(() => alice.request(RotateKeyDocument, { input: { id: expiring } }));
    } finally {
      serverNow = now;
    }
  });

  it("accepts the bounds themselves", async () => {
    const { createApiKey } = await create({
      ratelimits: [limit("low", { limit: 1, durationMs: 1_000 }), limit("high", { limit: 1_000_000, durationMs: 30 * DAY })],
      permissions: Array.from({ length: 100 }, (_, i) => `p${i}`),
      meta: { blob: "x".repeat(8 * 1024 - 11) /* exactly 8 KiB as JSON */ },
      credits: { remaining: 0, refill: { amount: 1, interval: "MONTHLY", day: 31 } },
    });
    expect(createApiKey.apiKey.ratelimits).toHaveLength(2);
    const rotated = await alice.request(RotateKeyDocument, { input: { id: createApiKey.apiKey.id, gracePeriodMs: 7 * DAY } });
    expect(rotated.rotateApiKey.previous.rotatedTo!.id).toBe(rotated.rotateApiKey.apiKey.id);
  });
});
