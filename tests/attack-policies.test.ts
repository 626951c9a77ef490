import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChildProcess } from "node:child_process";
import type { GraphQLClient } from "graphql-request";
import { verifyProjections } from "../src/projections/rebuild.js";
import { clientFor, expectCode, graphQLErrorOf, tokenFor } from "./support/clients.js";
import { backendName, onPostgres } from "./support/databases.js";
import { runTs, servingUrl } from "./support/processes.js";
import { TEST_JWT_SECRET, useTestServer } from "./support/server.js";

/**
 * Key policies (#10) attacked as a hostile user, a careless front-end and a gateway author would.
 * Tests named "DEFECT:" are `it.fails`: they state what should happen and fail until it does.
 */

const DAY = 86_400_000;
let now = Date.parse("2026-11-24T10:00:00.000Z");
const clock = () => new Date(now);

const KEY_FIELDS = `id version status expiresAt expired permissions meta credits { remaining } rotatedFrom { id } rotatedTo { id }`;
const CREATE = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { ${KEY_FIELDS} } } }`;
const UPDATE = `mutation($input: UpdateApiKeyInput!) { updateApiKey(input: $input) { apiKey { ${KEY_FIELDS} } } }`;
const ROTATE = `mutation($input: RotateApiKeyInput!) { rotateApiKey(input: $input) { secret apiKey { ${KEY_FIELDS} } previous { ${KEY_FIELDS} } } }`;
const ADD = `mutation($input: AddCreditsInput!) { addCredits(input: $input) { apiKey { ${KEY_FIELDS} } } }`;
const KEY = `query($id: ID!) { apiKey(id: $id) { ${KEY_FIELDS} } }`;
const STATUS = `mutation($input: SetKeyStatusInput!) { setKeyStatus(input: $input) { apiKey { ${KEY_FIELDS} } } }`;
const VERIFY = `mutation($input: VerifyApiKeyInput!) { verifyApiKey(input: $input) {
  valid code keyId ownerId expiresAt permissions meta credits { remaining } ratelimits { name limit remaining resetAt } } }`;

interface Key {
  id: string;
  version: number;
  status: string;
  expiresAt: string | null;
  expired: boolean;
  permissions: string[];
  meta: Record<string, unknown> | null;
  credits: { remaining: number } | null;
  rotatedFrom: { id: string } | null;
  rotatedTo: { id: string } | null;
}
interface Answer {
  valid: boolean;
  code: string;
  keyId: string | null;
  ownerId: string | null;
  credits: { remaining: number } | null;
  ratelimits: { name: string; limit: number; remaining: number; resetAt: string }[];
}

describe(`key policies under attack (${backendName})`, () => {
  const server = useTestServer({}, { clock });
  let alice: GraphQLClient;
  let mallory: GraphQLClient;
  let gateway: GraphQLClient;

  beforeAll(async () => {
    alice = await clientFor(server.url, "alice");
    mallory = await clientFor(server.url, "mallory");
    gateway = await clientFor(server.url, "gw-attack", ["gateway"]);
  });

  const create = async (input: Record<string, unknown> = {}, as = alice) =>
    (await as.request<{ createApiKey: { secret: string; apiKey: Key } }>(CREATE, { input: { service: "SMS", name: "attacked", ...input } })).createApiKey;
  const verify = async (key: string, input: Record<string, unknown> = {}) =>
    (await gateway.request<{ verifyApiKey: Answer }>(VERIFY, { input: { key, service: "SMS", ...input } })).verifyApiKey;
  const rotate = async (id: string, gracePeriodMs = 7 * DAY) =>
    (await alice.request<{ rotateApiKey: { secret: string; apiKey: Key; previous: Key } }>(ROTATE, { input: { id, gracePeriodMs } })).rotateApiKey;
  const addCredits = async (id: string, amount: number) => (await alice.request<{ addCredits: { apiKey: Key } }>(ADD, { input: { id, amount } })).addCredits.apiKey;
  const keyOf = async (id: string, as = alice) => (await as.request<{ apiKey: Key }>(KEY, { id })).apiKey;
  const codes = (answers: Answer[]) => answers.reduce<Record<string, number>>((c, a) => ({ ...c, [a.code]: (c[a.code] ?? 0) + 1 }), {});
  const expectProjectionsAgree = async () => expect((await verifyProjections(server.services.db)).differences).toEqual([]);

  describe("credits", () => {
    it("credits added after a refill boundary, before the next verification, are kept (not wiped by the refill)", async () => {
      // The refill due at 00:00 is applied first (a CreditsRefilled fact in addCredits' transaction), so the
      // 100 credits added at 00:05 come on top of it and survive the next verification: 5 + 100 - 1.
      now = Date.parse("2026-11-24T10:00:00.000Z");
      const { secret, apiKey } = await create({ credits: { remaining: 0, refill: { amount: 5, interval: "DAILY" } } });
      now = Date.parse("2026-11-25T00:05:00.000Z");
      expect((await addCredits(apiKey.id, 100)).credits!.remaining).toBe(105);
      const answer = await verify(secret);
      expect(answer.code).toBe("VALID");
      expect(answer.credits!.remaining).toBe(104);
      await expectProjectionsAgree();
    });

    it("holds: exactly N credits are spent by a burst on a rotation chain A→B→C (all three keys, one batch)", async () => {
      now = Date.parse("2026-11-26T10:00:00.000Z");
      const a = await create({ credits: { remaining: 7 }, ratelimits: [{ name: "r", limit: 1000, durationMs: 60_000 }] });
      const b = await rotate(a.apiKey.id);
      const c = await rotate(b.apiKey.id);
      expect(c.apiKey.credits!.remaining).toBe(7);
      expect((await keyOf(a.apiKey.id)).credits!.remaining).toBe(7);
      const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => verify([a.secret, b.secret, c.secret][i % 3]!)));
      expect(codes(answers)).toEqual({ VALID: 7, USAGE_EXCEEDED: 23 });
      expect((await keyOf(c.apiKey.id)).credits!.remaining).toBe(0);
      expect((await keyOf(a.apiKey.id)).credits!.remaining).toBe(0);
      await expectProjectionsAgree();
    });

    it("holds: verifying while rotating and adding credits never spends more than was granted", async () => {
      now = Date.parse("2026-11-26T11:00:00.000Z");
      const a = await create({ credits: { remaining: 10 } });
      const burst = Array.from({ length: 40 }, () => verify(a.secret));
      const rotation = rotate(a.apiKey.id);
      const added = addCredits(a.apiKey.id, 5).then(
        () => 5,
        () => 0,
      );
      const [answers, b, extra] = await Promise.all([Promise.all(burst), rotation, added]);
      const more = await Promise.all(Array.from({ length: 20 }, () => verify(b.secret)));
      const valid = [...answers, ...more].filter((x) => x.code === "VALID").length;
      expect(valid).toBe(10 + extra);
      expect((await keyOf(b.apiKey.id)).credits!.remaining).toBe(0);
      await expectProjectionsAgree();
    });

    it("holds: cost 0 passes at a zero balance without spending, and cost beyond the bound is typed", async () => {
      const { secret } = await create({ credits: { remaining: 0 } });
      expect(await verify(secret, { cost: 0 })).toMatchObject({ code: "VALID", credits: { remaining: 0 } });
      expect((await verify(secret)).code).toBe("USAGE_EXCEEDED");
      await expectCode(verify(secret, { cost: 1001 }), "BAD_USER_INPUT", "cost");
      await expectCode(verify(secret, { cost: -1 }), "BAD_USER_INPUT", "cost");
    });

    it("holds: a burst right after a refill boundary refills once and spends exactly the refill", async () => {
      now = Date.parse("2026-11-29T10:00:00.000Z");
      const { secret, apiKey } = await create({ credits: { remaining: 0, refill: { amount: 5, interval: "DAILY" } } });
      now = Date.parse("2026-11-30T00:00:00.000Z");
      const answers = await Promise.all(Array.from({ length: 20 }, () => verify(secret)));
      expect(codes(answers)).toEqual({ VALID: 5, USAGE_EXCEEDED: 15 });
      now += 1_000;
      expect((await verify(secret)).code).toBe("USAGE_EXCEEDED");
      expect((await keyOf(apiKey.id)).credits!.remaining).toBe(0);
      await expectProjectionsAgree();
    });

    it("holds: a monthly refill on day 31 comes on the last day of February, once", async () => {
      now = Date.parse("2027-01-31T10:00:00.000Z");
      const { secret } = await create({ credits: { remaining: 1, refill: { amount: 3, interval: "MONTHLY", day: 31 } } });
      expect((await verify(secret)).credits!.remaining).toBe(0);
      now = Date.parse("2027-02-27T23:59:59.999Z");
      expect((await verify(secret)).code).toBe("USAGE_EXCEEDED");
      now = Date.parse("2027-02-28T00:00:00.000Z");
      expect((await verify(secret)).credits!.remaining).toBe(2);
      now = Date.parse("2027-03-30T23:59:59.000Z");
      expect((await verify(secret)).credits!.remaining).toBe(1);
      now = Date.parse("2027-03-31T00:00:00.000Z");
      expect((await verify(secret)).credits!.remaining).toBe(2);
      await expectProjectionsAgree();
    });

    it("holds: rotating while a refill is due refills the successor once", async () => {
      now = Date.parse("2026-12-03T10:00:00.000Z");
      const a = await create({ credits: { remaining: 1, refill: { amount: 4, interval: "DAILY" } } });
      expect((await verify(a.secret)).credits!.remaining).toBe(0);
      now = Date.parse("2026-12-04T08:00:00.000Z");
      const b = await rotate(a.apiKey.id);
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => verify(i % 2 ? a.secret : b.secret)));
      expect(codes(answers)).toEqual({ VALID: 4, USAGE_EXCEEDED: 6 });
      await expectProjectionsAgree();
    });

    it("holds: the balance cannot be pushed past the 32-bit answer", async () => {
      const { apiKey } = await create({ credits: { remaining: 2 ** 31 - 1 } });
      await expectCode(alice.request(ADD, { input: { id: apiKey.id, amount: 1 } }), "BAD_USER_INPUT", "amount");
      expect((await addCredits(apiKey.id, -(10 ** 9))).credits!.remaining).toBe(2 ** 31 - 1 - 10 ** 9);
    });
  });

  describe("rate limits", () => {
    it("holds: a burst on a predecessor and its successor together admits exactly the limit", async () => {
      now = Date.parse("2026-11-27T10:00:00.000Z");
      const a = await create({ ratelimits: [{ name: "r", limit: 10, durationMs: 60_000 }] });
      const b = await rotate(a.apiKey.id);
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => verify(i % 2 ? a.secret : b.secret)));
      expect(codes(answers)).toEqual({ VALID: 10, RATE_LIMITED: 30 });
      await expectProjectionsAgree();
    });

    it("holds: lowering the limit mid-burst never admits more than the old limit in the window", async () => {
      now = Date.parse("2026-11-27T11:00:00.000Z");
      const a = await create({ ratelimits: [{ name: "r", limit: 10, durationMs: 60_000 }] });
      const first = await Promise.all(Array.from({ length: 6 }, () => verify(a.secret)));
      const [burst] = await Promise.all([
        Promise.all(Array.from({ length: 20 }, () => verify(a.secret))),
        alice.request(UPDATE, { input: { id: a.apiKey.id, ratelimits: [{ name: "r", limit: 5, durationMs: 60_000 }] } }),
      ]);
      expect([...first, ...burst].filter((x) => x.code === "VALID").length).toBeLessThanOrEqual(10);
      now += 30_000;
      expect((await verify(a.secret)).code).toBe("RATE_LIMITED");
      await expectProjectionsAgree();
    });

    it("holds: a request cost of 0 on a limit does not count, an unknown or repeated name is typed", async () => {
      const { secret } = await create({ ratelimits: [{ name: "r", limit: 1, durationMs: 60_000 }] });
      expect((await verify(secret)).code).toBe("VALID");
      expect((await verify(secret, { ratelimits: [{ name: "r", cost: 0 }] })).code).toBe("VALID");
      expect((await verify(secret)).code).toBe("RATE_LIMITED");
      await expectCode(verify(secret, { ratelimits: [{ name: "r" }, { name: "r" }] }), "BAD_USER_INPUT", "ratelimits[1].name");
      await expectCode(verify(secret, { ratelimits: [{ name: "nope\u0000" }] }), "BAD_USER_INPUT", "ratelimits[0].name");
    });
  });

  describe("rotation and ownership", () => {
    it("holds: another owner sees nothing of a key through any mutation or rotatedFrom/rotatedTo", async () => {
      const a = await create();
      const b = await rotate(a.apiKey.id);
      await expectCode(mallory.request(ROTATE, { input: { id: a.apiKey.id } }), "NOT_FOUND");
      await expectCode(mallory.request(ROTATE, { input: { id: b.apiKey.id } }), "NOT_FOUND");
      await expectCode(mallory.request(ADD, { input: { id: b.apiKey.id, amount: 5 } }), "NOT_FOUND");
      await expectCode(mallory.request(UPDATE, { input: { id: b.apiKey.id, credits: { remaining: 5 } } }), "NOT_FOUND");
      await expectCode(mallory.request(KEY, { id: b.apiKey.id }), "NOT_FOUND");
      const own = await create({}, mallory);
      expect((await keyOf(own.apiKey.id, mallory)).rotatedFrom).toBeNull();
    });

    it("holds: rotating twice at once gives one successor and one CONFLICT", async () => {
      const a = await create({ credits: { remaining: 3 } });
      const results = await Promise.allSettled([rotate(a.apiKey.id), rotate(a.apiKey.id)]);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      await expectProjectionsAgree();
    });

    it("holds: the predecessor can still be revoked during its grace period; the successor spends on", async () => {
      now = Date.parse("2026-12-02T10:00:00.000Z");
      const a = await create({ credits: { remaining: 5 } });
      const b = await rotate(a.apiKey.id);
      await alice.request(`mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { id } } }`, { input: { id: a.apiKey.id } });
      expect((await verify(a.secret)).code).toBe("REVOKED");
      expect((await verify(b.secret)).credits!.remaining).toBe(4);
      await expectCode(alice.request(UPDATE, { input: { id: a.apiKey.id, credits: { remaining: 99 } } }), "CONFLICT");
      await expectCode(alice.request(ADD, { input: { id: a.apiKey.id, amount: 99 } }), "CONFLICT");
      const changed = (await alice.request<{ updateApiKey: { apiKey: Key } }>(UPDATE, { input: { id: b.apiKey.id, credits: { remaining: 50 } } })).updateApiKey.apiKey;
      expect(changed.credits!.remaining).toBe(50);
      await expectProjectionsAgree();
    });

    it("rotating a disabled key does not hand out an active key", async () => {
      // Should: a disabled (INACTIVE) key is CONFLICT to rotate (like revoked/expired), or the new key is
      // created INACTIVE too. Is: the new key is ACTIVE, so "rotate" silently re-enables a key an admin switched off.
      const a = await create();
      const admin = await clientFor(server.url, "root", ["admin"]);
      await admin.request(STATUS, { input: { id: a.apiKey.id, status: "INACTIVE" } });
      const result = await rotate(a.apiKey.id).then(
        (r) => r,
        () => undefined,
      );
      if (result) expect((await verify(result.secret)).code).not.toBe("VALID");
    });

    it("a rotated key keeps the expiry it had (rotation does not extend a key's lifetime)", async () => {
      // Should: the successor of a key expiring on 2026-12-01 expires then too (or the rotation says so).
      // Is: KeyCreated of the successor carries no expiresAt: rotating turns a 30-day key into a never-expiring one.
      now = Date.parse("2026-11-28T10:00:00.000Z");
      const a = await create({ expiresAt: "2026-12-01T00:00:00.000Z" });
      const b = await rotate(a.apiKey.id, 0);
      expect(b.apiKey.expiresAt).not.toBeNull();
    });
  });

  describe("time travel", () => {
    const head = async () => (await server.services.db.query<{ head: string }>(`SELECT max(position)::text AS head FROM events`)).rows[0]!.head;
    const pastCredits = async (asOf: string) => {
      const { apiKeys } = await alice.request<{ apiKeys: { edges: { node: { id: string; credits: { remaining: number } | null } }[] } }>(
        `query($asOf: String) { apiKeys(asOf: $asOf, first: 100) { edges { node { id credits { remaining } } } } }`,
        { asOf },
      );
      return new Map(apiKeys.edges.map(({ node }) => [node.id, node.credits?.remaining ?? null]));
    };

    it("the table as of a position shows the balances of rotated keys as they were then", async () => {
      // As of `then`, both the successor B and the predecessor A (which spends B's account) show 7: B's balance
      // counts the uses A made in its grace period (KeyUsed with limitsOf B, in A's stream), and A's past row
      // shows its account's past balance, not today's.
      now = Date.parse("2026-12-06T10:00:00.000Z");
      const a = await create({ credits: { remaining: 10 } });
      const b = await rotate(a.apiKey.id);
      for (let i = 0; i < 3; i++) expect((await verify(a.secret)).code).toBe("VALID");
      const then = await head();
      for (let i = 0; i < 2; i++) expect((await verify(b.secret)).code).toBe("VALID");
      await create();
      const past = await pastCredits(then);
      expect([past.get(b.apiKey.id), past.get(a.apiKey.id)]).toEqual([7, 7]);
    });
  });

  describe("the HTTP gateway API", () => {
    const post = async (body: unknown) => {
      const response = await fetch(new URL("/v1/keys.verify", server.url), {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${await tokenFor("gw-http", ["gateway"])}` },
        body: JSON.stringify(body),
      });
      return { status: response.status, headers: response.headers, body: (await response.json()) as Answer & { error?: { code: string; field?: string } } };
    };
    const forwardAuth = async (key: string, query = "service=SMS") =>
      fetch(new URL(`/v1/auth?${query}`, server.url), { headers: { "x-keyledger-gateway-token": await tokenFor("gw-fa", ["gateway"]), "x-api-key": key } });

    it("a USAGE_EXCEEDED answer carries no rate-limit figures, as docs/gateways.md says of refusals before the rate limits", async () => {
      // docs/gateways.md: "Rate limits are checked last (after status, expiry, permissions and credits), so a
      // refusal for an earlier reason (...) has no RateLimit-* headers"; contract.ts: ratelimits is "empty when ...
      // refused earlier". Is: verdict() (src/domain/verification.ts) answers USAGE_EXCEEDED with ratelimits: unspent(),
      // so the body lists the limits and both endpoints send RateLimit-Limit/Remaining/Reset.
      const { secret } = await create({ credits: { remaining: 0 }, ratelimits: [{ name: "r", limit: 5, durationMs: 60_000 }] });
      const answer = await post({ key: secret, service: "SMS" });
      expect(answer.body.code).toBe("USAGE_EXCEEDED");
      expect([answer.body.ratelimits, answer.headers.get("ratelimit-limit")]).toEqual([[], null]);
    });

    it("holds: forward-auth answers for a rotated key in its grace period as itself, then 401 EXPIRED", async () => {
      now = Date.parse("2026-12-05T10:00:00.000Z");
      const a = await create({ credits: { remaining: 3 }, ratelimits: [{ name: "r", limit: 1, durationMs: 60_000 }] });
      const b = await rotate(a.apiKey.id, 60_000);
      const ok = await forwardAuth(a.secret);
      expect([ok.status, ok.headers.get("x-keyledger-key-id"), ok.headers.get("x-keyledger-credits-remaining")]).toEqual([200, a.apiKey.id, "2"]);
      const limited = await forwardAuth(b.secret);
      expect([limited.status, limited.headers.get("x-keyledger-code")]).toEqual([429, "RATE_LIMITED"]);
      now += 61_000;
      const expired = await forwardAuth(a.secret);
      expect([expired.status, expired.headers.get("x-keyledger-code")]).toEqual([401, "EXPIRED"]);
      expect((await forwardAuth(b.secret)).status).toBe(200);
    });

    it("Retry-After and RateLimit-Reset are counted on the server's clock, the one the verdict used", async () => {
      // Should: at most the window (60 s) after a refusal at the server's `now`. Is: verificationHeaders
      // (src/gateway/verification-view.ts, `now = Date.now()`) measures resetAt against the process's wall clock,
      // not the clock the server was started with (startServer's `clock`), so with an injected clock the
      // headers are off by the difference (here ~11 days).
      now = Date.parse("2026-12-05T12:00:00.000Z");
      const { secret } = await create({ ratelimits: [{ name: "r", limit: 1, durationMs: 60_000 }] });
      expect((await forwardAuth(secret)).status).toBe(200);
      const limited = await forwardAuth(secret);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get("retry-after"))).toBeLessThanOrEqual(61);
      expect(Number(limited.headers.get("ratelimit-reset"))).toBeLessThanOrEqual(61);
    });

    it("holds: odd JSON numbers and names are 400 naming the field, never 500", async () => {
      const { secret } = await create({ ratelimits: [{ name: "r", limit: 5, durationMs: 60_000 }] });
      for (const [body, field] of [
        [{ key: secret, service: "SMS", cost: 1.5 }, "cost"],
        [{ key: secret, service: "SMS", cost: 1e21 }, "cost"],
        [{ key: secret, service: "SMS", ratelimits: [{ name: "nope" }] }, "ratelimits[0].name"],
        [{ key: secret, service: "SMS", ratelimits: [{ name: "r" }, { name: "r" }] }, "ratelimits[1].name"],
        [{ key: secret, service: "SMS", ratelimits: [null] }, "ratelimits[0]"],
        [{ key: secret, service: "SMS", permissions: ["a", null] }, "permissions[1]"],
      ] as const) {
        const answer = await post(body);
        expect([answer.status, answer.body.error?.code, answer.body.error?.field], JSON.stringify(body)).toEqual([400, "BAD_USER_INPUT", field]);
      }
      expect((await post({ key: secret, service: "SMS", cost: 1e3 })).body.code).toBe("VALID");
    });
  });

  describe("inputs that must be typed errors", () => {
    const badMeta: Array<[string, Record<string, unknown>]> = [
      ["a NUL character in a value", { note: "a\u0000b" }],
      ["a NUL character in a name", { "a\u0000b": 1 }],
      ["a lone surrogate", { note: "\ud800" }],
    ];
    for (const [what, meta] of badMeta) {
      // Should: BAD_USER_INPUT naming meta (PostgreSQL's jsonb cannot hold \u0000 or a lone surrogate), nothing appended.
      // Is: checkMeta (src/domain/policies/validation.ts) lets it through and the append fails: INTERNAL_SERVER_ERROR.
      it(`meta with ${what} is BAD_USER_INPUT on create and update`, async () => {
        await expectCode(create({ meta }), "BAD_USER_INPUT", "meta");
        const { apiKey } = await create();
        await expectCode(alice.request(UPDATE, { input: { id: apiKey.id, meta } }), "BAD_USER_INPUT", "meta");
      });
    }

    it("holds: deeply nested meta under 8 KiB is kept and returned", async () => {
      let meta: Record<string, unknown> = { leaf: true };
      for (let i = 0; i < 1000; i++) meta = { a: meta };
      const result = await create({ meta }).then(
        (r) => r,
        async (error) => {
          const first = await graphQLErrorOf(Promise.reject(error));
          expect(first.extensions.code).toBe("BAD_USER_INPUT");
          return undefined;
        },
      );
      if (result) expect((await verify(result.secret)).code).toBe("VALID");
    });

    it("holds: expiry far in the future and before 1970", async () => {
      const far = await create({ expiresAt: "9999-12-31T23:59:59.999Z" });
      expect(far.apiKey.expiresAt).toBe("9999-12-31T23:59:59.999Z");
      expect((await verify(far.secret)).code).toBe("VALID");
      const rotated = await rotate(far.apiKey.id, 0);
      expect(rotated.previous.expiresAt).not.toBe("9999-12-31T23:59:59.999Z");
      await expectCode(create({ expiresAt: "1969-12-31T23:59:59.000Z" }), "BAD_USER_INPUT", "expiresAt");
    });

    it("a gateway token whose subject holds a NUL character is a typed error, not INTERNAL_SERVER_ERROR", async () => {
      // Should: UNAUTHENTICATED like a lone surrogate (src/commands/verify-keys.ts refuses LONE_SURROGATE
      // "text PostgreSQL cannot store"), and the batch it shares with other gateways is not disturbed.
      // Is: the KeyUsed fact's gatewayId (and metadata.actorId) cannot be stored in jsonb: the append fails, INTERNAL_SERVER_ERROR.
      const { secret } = await create();
      const nul = await clientFor(server.url, "gw\u0000x", ["gateway"]);
      const error = await graphQLErrorOf(nul.request(VERIFY, { input: { key: secret, service: "SMS" } }));
      expect(error.extensions.code, error.message).toBe("UNAUTHENTICATED");
    });

    it("holds: a gateway whose facts cannot be stored does not fail other gateways' verifications in its batch", async () => {
      const { secret } = await create({ credits: { remaining: 3 } });
      const nul = await clientFor(server.url, "gw\u0000y", ["gateway"]);
      const [bad, ...good] = await Promise.allSettled([nul.request(VERIFY, { input: { key: secret, service: "SMS" } }), verify(secret), verify(secret)]);
      expect(bad!.status).toBe("rejected");
      expect(good.map((g) => (g.status === "fulfilled" ? g.value.code : g.reason))).toEqual(["VALID", "VALID"]);
      expect((await verify(secret)).credits!.remaining).toBe(0);
      await expectProjectionsAgree();
    });

    it("an owner token whose subject holds a NUL character is a typed error on createApiKey", async () => {
      // Should: UNAUTHENTICATED (or BAD_USER_INPUT) and nothing appended. Is: INTERNAL_SERVER_ERROR from the append.
      const nul = await clientFor(server.url, "al\u0000ice");
      const error = await graphQLErrorOf(nul.request(CREATE, { input: { service: "SMS", name: "x" } }));
      expect(error.extensions.code, error.message).not.toBe("INTERNAL_SERVER_ERROR");
    });

    it("holds: nulls in lists and huge numbers are refused before the resolver", async () => {
      const { secret, apiKey } = await create();
      // Sent together; each failure is caught as it is sent (a rejection awaited only later would be unhandled meanwhile).
      const errors = await Promise.all(
        [
          verify(secret, { permissions: ["a", null] }),
          verify(secret, { cost: 2 ** 31 }),
          verify(secret, { ratelimits: [null] }),
          alice.request(UPDATE, { input: { id: apiKey.id, permissions: [null] } }),
          alice.request(ADD, { input: { id: apiKey.id, amount: 2 ** 40 } }),
          alice.request(ROTATE, { input: { id: apiKey.id, gracePeriodMs: 2 ** 31 } }),
          create({ ratelimits: [{ name: "r", limit: 1, durationMs: 2 ** 60 }] }),
        ].map(graphQLErrorOf),
      );
      for (const error of errors) expect(error.extensions.code, error.message).not.toBe("INTERNAL_SERVER_ERROR");
    });
  });
});

/** Real concurrency: two server processes (real clocks) over one PostgreSQL database. */
describe.runIf(onPostgres)("key policies under attack on two processes", () => {
  const serverA = useTestServer();
  let processB: ChildProcess;
  let aliceOn: GraphQLClient[];
  let gateways: GraphQLClient[];

  beforeAll(async () => {
    processB = runTs("src/main.ts", [], { PORT: "0", HOST: "127.0.0.1", DATABASE_URL: serverA.location.databaseUrl!, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: "warn" }).child;
    const urlB = await servingUrl(processB);
    aliceOn = [await clientFor(serverA.url, "alice"), await clientFor(urlB, "alice")];
    gateways = [await clientFor(serverA.url, "gw-a", ["gateway"]), await clientFor(urlB, "gw-b", ["gateway"])];
  });
  afterAll(() => {
    processB?.kill("SIGTERM");
  });

  const verifyOn = async (i: number, key: string) =>
    (await gateways[i % 2]!.request<{ verifyApiKey: Answer }>(VERIFY, { input: { key, service: "SMS" } })).verifyApiKey;
  const rotateOn = async (i: number, id: string) =>
    (await aliceOn[i % 2]!.request<{ rotateApiKey: { secret: string; apiKey: Key } }>(ROTATE, { input: { id, gracePeriodMs: 3_600_000 } })).rotateApiKey;

  it("holds: a chain A→B→C rotated on both processes while both verify every link spends the balance exactly once", async () => {
    const N = 60;
    const a = (await aliceOn[0]!.request<{ createApiKey: { secret: string; apiKey: Key } }>(CREATE, {
      input: { service: "SMS", name: "chain", credits: { remaining: N }, ratelimits: [{ name: "r", limit: 100_000, durationMs: 60_000 }] },
    })).createApiKey;
    const secrets = [a.secret];
    const spray = (count: number) => Promise.all(Array.from({ length: count }, (_, i) => verifyOn(i, secrets[i % secrets.length]!)));
    const first = spray(30);
    const b = await rotateOn(1, a.apiKey.id);
    secrets.push(b.secret);
    const second = spray(30);
    const c = await rotateOn(0, b.apiKey.id);
    secrets.push(c.secret);
    const third = spray(30);
    const answers = (await Promise.all([first, second, third])).flat();
    const drain = await Promise.all(Array.from({ length: 40 }, (_, i) => verifyOn(i, secrets[i % 3]!)));
    const valid = [...answers, ...drain].filter((x) => x.code === "VALID");
    expect(valid).toHaveLength(N);
    expect(valid.map((x) => x.credits!.remaining).sort((x, y) => x - y)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect((await verifyProjections(serverA.services.db)).differences).toEqual([]);
  });

  it("holds: lowering a rate limit while both processes burst never admits more than the old limit", async () => {
    const a = (await aliceOn[0]!.request<{ createApiKey: { secret: string; apiKey: Key } }>(CREATE, {
      input: { service: "SMS", name: "burst", ratelimits: [{ name: "r", limit: 20, durationMs: 600_000 }] },
    })).createApiKey;
    const [answers] = await Promise.all([
      Promise.all(Array.from({ length: 120 }, (_, i) => verifyOn(i, a.secret))),
      aliceOn[1]!.request(UPDATE, { input: { id: a.apiKey.id, ratelimits: [{ name: "r", limit: 5, durationMs: 600_000 }] } }),
    ]);
    expect(answers.filter((x) => x.code === "VALID").length).toBeLessThanOrEqual(20);
    expect((await verifyOn(0, a.secret)).code).toBe("RATE_LIMITED");
    expect((await verifyProjections(serverA.services.db)).differences).toEqual([]);
  });
});
