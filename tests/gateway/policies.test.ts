import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import type { Caller, NewKeyInput } from "../../src/commands/api-keys.js";
import { VerifyWithPoliciesDocument, type VerifyApiKeyInput } from "../generated/graphql.js";
import { clientFor, tokenFor } from "../support/clients.js";
import { backendName } from "../support/databases.js";
import { useTestServer } from "../support/server.js";
import { call, openApiChecker, originOf, type SeenResponse } from "./support.js";

const MINUTE = 60_000;
const DAY = 86_400_000;

interface Body {
  valid: boolean;
  code: string;
  credits: { remaining: number } | null;
  ratelimits: { name: string; limit: number; remaining: number; resetAt: string }[] | null;
  error?: { code: string; field?: string };
}

describe(`gateway HTTP API with key policies: permissions, cost, rate limits, credits (${backendName})`, () => {
  const server = useTestServer();
  let origin: string;
  let gatewayToken: string;
  let check: (seen: SeenResponse) => void;
  const alice: Caller = { viewer: { userId: "alice", roles: new Set(["owner"]) }, requestId: "gateway-policies" };

  /** A key of alice's for SMS with these policies; its secret. */
  const keyWith = async (policies: Omit<NewKeyInput, "service" | "name">) =>
    (await server.services.commands.create({ ...alice, requestId: randomUUID() }, { service: "SMS", name: "policies", ...policies })).secret;

  const verify = async (input: Record<string, unknown>) => {
    const seen = await call(origin, "/v1/keys.verify", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${gatewayToken}` },
      body: JSON.stringify({ service: "SMS", ...input }),
    });
    check(seen);
    return { ...seen, body: seen.body as Body };
  };
  const forwardAuth = async (key: string, query = "") => {
    const seen = await call(origin, `/v1/auth?service=SMS${query}`, { headers: { "x-keyledger-gateway-token": gatewayToken, "x-api-key": key } });
    check(seen);
    return seen;
  };
  const limitHeaders = (seen: SeenResponse) =>
    ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "retry-after", "x-keyledger-credits-remaining"].map((name) => seen.headers.get(name));
  const countEvents = async (type: string) =>
    (await server.services.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE type = $1`, [type])).rows[0]!.n;
  const recorded = async (): Promise<[used: number, denied: number]> => [await countEvents("KeyUsed"), await countEvents("KeyDenied")];
  /** Seconds from now until an ISO time, as the headers round them. */
  const secondsTo = (iso: string) => Math.ceil((Date.parse(iso) - Date.now()) / 1000);

  beforeAll(async () => {
    origin = originOf(server);
    gatewayToken = await tokenFor("edge-gateway", ["gateway"]);
    check = openApiChecker((await call(origin, "/openapi.json")).body as Record<string, any>);
  });

  it("answers /v1/keys.verify with the key's expiry, permissions, meta, credits and rate limits, and their headers", async () => {
    const expiresAt = Date.now() + 30 * DAY;
    const key = await keyWith({
      expiresAt,
      permissions: ["sms:send", "reports:*"],
      meta: { plan: "pro" },
      credits: { remaining: 10, refill: null },
      ratelimits: [{ name: "burst", limit: 5, durationMs: MINUTE }],
    });
    const seen = await verify({ key, permissions: ["sms:send", "reports:daily"], cost: 2 });
    expect(seen.status).toBe(200);
    expect(seen.body).toMatchObject({
      valid: true,
      code: "VALID",
      ownerId: "alice",
      expiresAt: new Date(expiresAt).toISOString(),
      permissions: ["reports:*", "sms:send"],
      meta: { plan: "pro" },
      credits: { remaining: 8 },
      ratelimits: [{ name: "burst", limit: 5, remaining: 4 }],
    });
    const reset = secondsTo(seen.body.ratelimits![0]!.resetAt);
    expect(reset).toBeGreaterThan(55);
    expect(reset).toBeLessThanOrEqual(62);
    const [limit, remaining, resetHeader, retryAfter, credits] = limitHeaders(seen);
    expect([limit, remaining, retryAfter, credits]).toEqual(["5", "4", null, "8"]);
    expect(Math.abs(Number(resetHeader) - reset)).toBeLessThanOrEqual(1);

    const plain = await verify({ key: await keyWith({}) });
    expect(plain.body).toMatchObject({ code: "VALID", expiresAt: null, permissions: [], meta: null, credits: null, ratelimits: [] });
    expect(limitHeaders(plain)).toEqual([null, null, null, null, null]);

    const unknown = await verify({ key: `${key.slice(0, -1)}${key.endsWith("x") ? "y" : "x"}` });
    expect(unknown.body).toEqual({ valid: false, code: "NOT_FOUND", keyId: null, ownerId: null, expiresAt: null, permissions: null, meta: null, credits: null, ratelimits: [] });
  });

  it("answers exactly what GraphQL's verifyApiKey answers, field for field", async () => {
    const gateway = await clientFor(server.url, "edge-gateway", ["gateway"]);
    const key = await keyWith({
      expiresAt: Date.now() + DAY,
      permissions: ["sms:*"],
      meta: { tier: 2, tags: ["a"] },
      credits: { remaining: 7, refill: null },
      ratelimits: [
        { name: "burst", limit: 3, durationMs: MINUTE },
        { name: "daily", limit: 50, durationMs: DAY },
      ],
    });
    await verify({ key });
    // Cost 0 everywhere: neither answer changes the key, so both must be equal.
    const inputs: VerifyApiKeyInput[] = [
      { key, service: "SMS", permissions: ["sms:send"], cost: 0, ratelimits: [{ name: "daily", cost: 0 }, { name: "burst", cost: 0 }] },
      { key, service: "SMS", permissions: ["email:send"], cost: 0 },
      { key, service: "EMAIL", cost: 0 },
      { key: "klp_sms_nothing", service: "SMS", cost: 0 },
    ];
    for (const input of inputs) {
      const viaHttp = await verify(input);
      const { verifyApiKey } = await gateway.request(VerifyWithPoliciesDocument, { input });
      expect(viaHttp.body, JSON.stringify(input).slice(0, 80)).toMatchObject(verifyApiKey);
      expect(Object.keys(viaHttp.body).sort()).toEqual([...Object.keys(verifyApiKey), "ownerId"].sort());
    }
  });

  it("refuses over a rate limit with 429 RATE_LIMITED, Retry-After and RateLimit-* of the most restrictive limit, recording a KeyDenied", async () => {
    const key = await keyWith({
      ratelimits: [
        { name: "burst", limit: 2, durationMs: MINUTE },
        { name: "daily", limit: 100, durationMs: DAY },
      ],
    });
    const first = await forwardAuth(key);
    expect([first.status, ...limitHeaders(first).slice(0, 2)]).toEqual([200, "2", "1"]);
    const second = await forwardAuth(key);
    expect([second.status, ...limitHeaders(second).slice(0, 2)]).toEqual([200, "2", "0"]);

    const [used, denied] = await recorded();
    const refused = await forwardAuth(key);
    expect([refused.status, refused.headers.get("x-keyledger-code")]).toEqual([429, "RATE_LIMITED"]);
    const [limit, remaining, reset, retryAfter, credits] = limitHeaders(refused);
    expect([limit, remaining, credits]).toEqual(["2", "0", null]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(55);
    expect(Number(retryAfter)).toBeLessThanOrEqual(62);
    expect(Math.abs(Number(reset) - Number(retryAfter))).toBeLessThanOrEqual(1);
    expect(refused.body).toEqual({ error: { code: "RATE_LIMITED", message: expect.any(String) } });
    expect(await recorded()).toEqual([used, denied + 1]);

    const viaJson = await verify({ key });
    expect([viaJson.status, viaJson.body.valid, viaJson.body.code]).toEqual([200, false, "RATE_LIMITED"]);
    expect(viaJson.body.ratelimits).toMatchObject([
      { name: "burst", limit: 2, remaining: 0 },
      { name: "daily", limit: 100, remaining: 98 },
    ]);
    expect(limitHeaders(viaJson).slice(0, 2)).toEqual(["2", "0"]);
    expect(Number(viaJson.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });

  it("applies only the rate limits a request names, at their cost, and shows the one that refused even when another has less left", async () => {
    const key = await keyWith({
      ratelimits: [
        { name: "burst", limit: 2, durationMs: MINUTE },
        { name: "daily", limit: 10, durationMs: DAY },
      ],
    });
    const some = await verify({ key, ratelimits: [{ name: "daily", cost: 3 }] });
    expect(some.body).toMatchObject({ code: "VALID", ratelimits: [{ name: "daily", limit: 10, remaining: 7 }] });
    expect(limitHeaders(some).slice(0, 2)).toEqual(["10", "7"]);
    expect((await verify({ key })).body.code).toBe("VALID"); // burst 1 left, daily 6

    const refused = await verify({ key, ratelimits: [{ name: "burst" }, { name: "daily", cost: 7 }] });
    expect(refused.body).toMatchObject({
      code: "RATE_LIMITED",
      ratelimits: [
        { name: "burst", limit: 2, remaining: 1 },
        { name: "daily", limit: 10, remaining: 6 },
      ],
    });
    expect(limitHeaders(refused).slice(0, 2)).toEqual(["10", "6"]);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(DAY / 1000 - 60);
    expect(retryAfter).toBeLessThanOrEqual(DAY / 1000 + DAY / 60_000 + 2);
  });

  it("refuses a key whose credits are spent with 429 USAGE_EXCEEDED; cost 0 only checks", async () => {
    const key = await keyWith({ credits: { remaining: 3, refill: null } });
    const spend = await forwardAuth(key, "&cost=2");
    expect([spend.status, spend.headers.get("x-keyledger-credits-remaining")]).toEqual([200, "1"]);
    expect(spend.headers.get("ratelimit-limit")).toBeNull();

    const tooMuch = await verify({ key, cost: 2 });
    expect([tooMuch.status, tooMuch.body.code, tooMuch.body.credits]).toEqual([200, "USAGE_EXCEEDED", { remaining: 1 }]);
    expect(await forwardAuth(key)).toMatchObject({ status: 200 });

    const spent = await forwardAuth(key);
    expect([spent.status, spent.headers.get("x-keyledger-code"), ...limitHeaders(spent)]).toEqual([429, "USAGE_EXCEEDED", null, null, null, null, "0"]);
    const checkOnly = await forwardAuth(key, "&cost=0");
    expect([checkOnly.status, checkOnly.headers.get("x-keyledger-credits-remaining")]).toEqual([200, "0"]);
  });

  it("refuses a key without the permissions asked with 403 INSUFFICIENT_PERMISSIONS (forward-auth) or code INSUFFICIENT_PERMISSIONS (JSON)", async () => {
    const key = await keyWith({ permissions: ["sms:send", "reports:*"] });
    for (const [query, status, code] of [
      ["&permissions=sms:send", 200, "VALID"],
      ["&permissions=sms:send,reports:daily", 200, "VALID"],
      ["&permissions=", 200, "VALID"],
      ["&permissions=sms:send,sms:delete", 403, "INSUFFICIENT_PERMISSIONS"],
      ["&permissions=admin", 403, "INSUFFICIENT_PERMISSIONS"],
    ] as const) {
      const seen = await forwardAuth(key, query);
      expect([seen.status, seen.headers.get("x-keyledger-code")], query).toEqual([status, code]);
    }
    const viaJson = await verify({ key, permissions: ["reports:monthly", "billing:read"] });
    expect([viaJson.status, viaJson.body.valid, viaJson.body.code]).toEqual([200, false, "INSUFFICIENT_PERMISSIONS"]);
  });

  it("refuses an expired key with 401 EXPIRED (forward-auth) or code EXPIRED (JSON)", async () => {
    const expiresAt = Date.now() + 3_000;
    const key = await keyWith({ expiresAt });
    expect((await forwardAuth(key)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, expiresAt - Date.now() + 50));
    const seen = await forwardAuth(key);
    expect([seen.status, seen.headers.get("x-keyledger-code"), seen.headers.get("www-authenticate")]).toEqual([401, "EXPIRED", 'Bearer realm="keyledger"']);
    expect((await verify({ key })).body).toMatchObject({ valid: false, code: "EXPIRED", expiresAt: new Date(expiresAt).toISOString() });
  });

  it("answers 400 naming the field for a rate limit the key does not have, a bad cost or bad permissions, and records nothing", async () => {
    const key = await keyWith({ ratelimits: [{ name: "burst", limit: 5, durationMs: MINUTE }], credits: { remaining: 5, refill: null } });
    const before = await recorded();
    const bodies: Array<[Record<string, unknown>, string]> = [
      [{ ratelimits: [{ name: "hourly" }] }, "ratelimits[0].name"],
      [{ ratelimits: [{ name: "burst" }, { name: "burst", cost: 2 }] }, "ratelimits[1].name"],
      [{ ratelimits: [{ name: "burst", cost: -1 }] }, "ratelimits[0].cost"],
      [{ ratelimits: [{ name: "burst", extra: 1 }] }, "ratelimits[0].extra"],
      [{ ratelimits: Array.from({ length: 11 }, (_, i) => ({ name: `l${i}` })) }, "ratelimits"],
      [{ cost: -1 }, "cost"],
      [{ cost: 1001 }, "cost"],
      [{ cost: 1.5 }, "cost"],
      [{ cost: "2" }, "cost"],
      [{ permissions: "sms:send" }, "permissions"],
      [{ permissions: ["sms:send", "SMS:SEND"] }, "permissions[1]"],
      [{ permissions: ["x".repeat(65)] }, "permissions[0]"],
      [{ permissions: Array.from({ length: 101 }, (_, i) => `p${i}`) }, "permissions"],
    ];
    for (const [input, field] of bodies) {
      const seen = await verify({ key, ...input });
      expect([seen.status, seen.body.error?.code, seen.body.error?.field], JSON.stringify(input).slice(0, 80)).toEqual([400, "BAD_USER_INPUT", field]);
      expect(seen.headers.get("x-keyledger-code")).toBe("BAD_USER_INPUT");
    }
    for (const query of ["&cost=abc", "&cost=-1", "&cost=1001", "&cost=1.5", "&cost=", "&cost=1&cost=2"]) {
      const seen = await forwardAuth(key, query);
      expect([seen.status, (seen.body as Body).error?.field], query).toEqual([400, "cost"]);
    }
    for (const query of ["&permissions=sms:send,,x", "&permissions=Admin", `&permissions=${Array.from({ length: 101 }, (_, i) => `p${i}`).join(",")}`]) {
      const seen = await forwardAuth(key, query);
      expect([seen.status, (seen.body as Body).error?.field], query.slice(0, 40)).toEqual([400, "permissions"]);
    }
    expect(await recorded()).toEqual(before);
    expect((await verify({ key, cost: null, permissions: null, ratelimits: null })).body).toMatchObject({ code: "VALID", credits: { remaining: 4 } });
  });
});
