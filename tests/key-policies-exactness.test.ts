import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChildProcess } from "node:child_process";
import type { GraphQLClient } from "graphql-request";
import {
  AddCreditsDocument,
  CreatePolicyKeyDocument,
  RotateKeyDocument,
  PolicyKeyDocument,
  VerifyWithPoliciesDocument,
  type CreateApiKeyInput,
  type VerifyApiKeyInput,
} from "./generated/graphql.js";
import { clientFor } from "./support/clients.js";
import { backendName, onPostgres } from "./support/databases.js";
import { runTs, servingUrl } from "./support/processes.js";
import { useTestServer, TEST_JWT_SECRET } from "./support/server.js";

const uuidOf = (globalId: string) => Buffer.from(globalId, "base64").toString().split(":")[1]!;

/** The exactness rules, on two server processes over one PostgreSQL database. */
describe.runIf(onPostgres)("key policies are exact across two server processes", () => {
  const serverA = useTestServer();
  let processB: ChildProcess;
  let alice: GraphQLClient;
  let aliceOnB: GraphQLClient;
  let gateways: GraphQLClient[];

  beforeAll(async () => {
    processB = runTs("src/main.ts", [], {
      PORT: "0",
      HOST: "127.0.0.1",
      DATABASE_URL: serverA.location.databaseUrl!,
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: "warn",
    }).child;
    const urlB = await servingUrl(processB);
    alice = await clientFor(serverA.url, "alice");
    aliceOnB = await clientFor(urlB, "alice");
    gateways = [await clientFor(serverA.url, "gw-a", ["gateway"]), await clientFor(urlB, "gw-b", ["gateway"])];
  });
  afterAll(() => {
    processB?.kill("SIGTERM");
  });

  const create = async (input: Partial<CreateApiKeyInput>) =>
    (await alice.request(CreatePolicyKeyDocument, { input: { service: "SMS", name: "exact", ...input } })).createApiKey;
  /** The i-th call goes to process A or B in turn. */
  const verifyOn = async (i: number, key: string, input: Partial<VerifyApiKeyInput> = {}) =>
    (await gateways[i % 2]!.request(VerifyWithPoliciesDocument, { input: { key, service: "SMS", ...input } })).verifyApiKey;
  // What process B committed is sealed by whichever process seals: wait for all of it, then read.
  const streamOf = async (globalId: string) => {
    await serverA.services.store.drained();
    return serverA.services.store.readStream(uuidOf(globalId));
  };
  const balanceRow = async (globalId: string) =>
    (await serverA.services.db.query<{ remaining: string }>(`SELECT credits_remaining::text AS remaining FROM key_limits WHERE key_id = $1`, [uuidOf(globalId)]))
      .rows[0]!.remaining;

  it("spends exactly N credits over 300 concurrent calls on both processes, never below 0", async () => {
    const N = 40;
    const { secret, apiKey } = await create({ credits: { remaining: N } });
    const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => verifyOn(i, secret)));
    const valid = answers.filter((a) => a.code === "VALID");
    expect(valid).toHaveLength(N);
    expect(answers.filter((a) => a.code === "USAGE_EXCEEDED")).toHaveLength(300 - N);
    // Each balance from N-1 down to 0 is answered exactly once: no two calls spent the same credit.
    expect(valid.map((a) => a.credits!.remaining).sort((x, y) => x - y)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(answers.every((a) => a.credits === null || a.credits.remaining >= 0)).toBe(true);
    expect((await alice.request(PolicyKeyDocument, { id: apiKey.id })).apiKey!.credits!.remaining).toBe(0);
    expect(await balanceRow(apiKey.id)).toBe("0");

    const events = await streamOf(apiKey.id);
    const used = events.filter((e) => e.type === "KeyUsed");
    expect(used).toHaveLength(N);
    expect(used.reduce((sum, e) => sum + (e.data.cost as number), 0)).toBe(N);
    // In log order the balance goes down by one per use: N-1, N-2, …, 0.
    expect(used.map((e) => e.data.remaining)).toEqual(Array.from({ length: N }, (_, i) => N - 1 - i));
    const denied = events.filter((e) => e.type === "KeyDenied");
    expect(denied).toHaveLength(300 - N);
    expect(denied.every((e) => e.data.code === "USAGE_EXCEEDED")).toBe(true);
    // Both processes decided on the one balance (which of them spent it depends on who came first).
    expect(new Set([...used, ...denied].map((e) => e.metadata.actorId))).toEqual(new Set(["gw-a", "gw-b"]));
  });

  it("admits exactly 10 of a burst of 200 against limit 10 per 10 s on both processes", async () => {
    const { secret, apiKey } = await create({ ratelimits: [{ name: "burst", limit: 10, durationMs: 10_000 }] });
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => verifyOn(i, secret)));
    expect(answers.filter((a) => a.code === "VALID")).toHaveLength(10);
    const limited = answers.filter((a) => a.code === "RATE_LIMITED");
    expect(limited).toHaveLength(190);
    expect(limited.every((a) => a.ratelimits[0]!.remaining === 0 && a.ratelimits[0]!.name === "burst")).toBe(true);
    const valid = answers.filter((a) => a.code === "VALID").map((a) => a.ratelimits[0]!.remaining);
    expect(valid.sort((x, y) => x - y)).toEqual(Array.from({ length: 10 }, (_, i) => i));

    const events = await streamOf(apiKey.id);
    const used = events.filter((e) => e.type === "KeyUsed");
    expect(used).toHaveLength(10);
    for (const event of used) expect(event.data.ratelimits).toEqual([{ name: "burst", cost: 1 }]);
    const denied = events.filter((e) => e.type === "KeyDenied");
    expect(denied).toHaveLength(190);
    expect(denied.every((e) => e.data.code === "RATE_LIMITED" && e.data.ratelimit === "burst")).toBe(true);
  });

  it("stays exact when credits are added on both processes while both verify", async () => {
    const start = 20;
    const { secret, apiKey } = await create({ credits: { remaining: start } });
    const adding = Array.from({ length: 10 }, (_, i) =>
      (i % 2 ? alice : aliceOnB).request(AddCreditsDocument, { input: { id: apiKey.id, amount: 5 } }),
    );
    const verifying = Array.from({ length: 200 }, (_, i) => verifyOn(i, secret, { cost: 1 + (i % 3) }));
    const [added, answers] = await Promise.all([Promise.all(adding), Promise.all(verifying)]);
    expect(added).toHaveLength(10);
    const granted = start + 10 * 5;
    const spentByAnswers = answers.reduce((sum, a, i) => sum + (a.code === "VALID" ? 1 + (i % 3) : 0), 0);

    // The log tells one consistent story: each use takes its cost from the balance before it, each addition adds 5.
    const events = await streamOf(apiKey.id);
    let balance = start;
    let spent = 0;
    for (const event of events) {
      if (event.type === "CreditsAdded") {
        balance += 5;
        expect(event.data.remaining).toBe(balance);
      } else if (event.type === "KeyUsed") {
        balance -= event.data.cost as number;
        spent += event.data.cost as number;
        expect(balance).toBeGreaterThanOrEqual(0);
        expect(event.data.remaining).toBe(balance);
      }
    }
    expect(spent).toBe(spentByAnswers);
    expect(events.filter((e) => e.type === "CreditsAdded")).toHaveLength(10);
    expect(events.filter((e) => e.type === "KeyUsed")).toHaveLength(answers.filter((a) => a.code === "VALID").length);
    expect((await alice.request(PolicyKeyDocument, { id: apiKey.id })).apiKey!.credits!.remaining).toBe(granted - spent);

    // Draining what is left at cost 1 spends exactly the rest: every credit granted is spent once.
    const drain = await Promise.all(Array.from({ length: granted - spent + 20 }, (_, i) => verifyOn(i, secret)));
    expect(drain.filter((a) => a.code === "VALID")).toHaveLength(granted - spent);
    expect(await balanceRow(apiKey.id)).toBe("0");
    const usedAfter = (await streamOf(apiKey.id)).filter((e) => e.type === "KeyUsed");
    expect(usedAfter.reduce((sum, e) => sum + (e.data.cost as number), 0)).toBe(granted);
  });

  it("spends one balance exactly when the key is rotated while both processes verify it", async () => {
    const N = 100;
    const { secret, apiKey } = await create({ credits: { remaining: N }, ratelimits: [{ name: "r", limit: 1_000, durationMs: 60_000 }] });
    const early = Array.from({ length: 40 }, (_, i) => verifyOn(i, secret));
    const rotation = aliceOnB.request(RotateKeyDocument, { input: { id: apiKey.id, gracePeriodMs: 60_000 } });
    const late = Array.from({ length: 40 }, (_, i) => verifyOn(i, secret));
    const [rotated, answers] = await Promise.all([rotation, Promise.all([...early, ...late])]);
    const successor = rotated.rotateApiKey;
    // At least 20 credits are left: the old key, in its grace period, spends them from the successor's account.
    const graced = await Promise.all(Array.from({ length: 20 }, (_, i) => verifyOn(i, secret)));
    expect(graced.every((a) => a.code === "VALID")).toBe(true);
    const fromNew = await Promise.all(Array.from({ length: 40 }, (_, i) => verifyOn(i, successor.secret)));
    const valid = [...answers, ...graced, ...fromNew].filter((a) => a.code === "VALID");
    expect(valid).toHaveLength(N);
    expect(valid.map((a) => a.credits!.remaining).sort((x, y) => x - y)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect((await alice.request(PolicyKeyDocument, { id: successor.apiKey.id })).apiKey!.credits!.remaining).toBe(0);

    // Uses of the old key after the rotation spent the successor's account; every use is in the log once.
    const used = [...(await streamOf(apiKey.id)), ...(await streamOf(successor.apiKey.id))].filter((e) => e.type === "KeyUsed");
    expect(used).toHaveLength(N);
    expect(used.reduce((sum, e) => sum + (e.data.cost as number), 0)).toBe(N);
    const rotatedAt = (await streamOf(apiKey.id)).find((e) => e.type === "KeyRotated")!.position;
    expect(used.filter((e) => e.data.limitsOf === uuidOf(successor.apiKey.id)).length).toBeGreaterThanOrEqual(20);
    for (const event of used) expect(event.data.limitsOf).toBe(event.position > rotatedAt && event.streamId === uuidOf(apiKey.id) ? uuidOf(successor.apiKey.id) : null);
  });
});

describe(`key policies: a burst across a refill boundary (${backendName})`, () => {
  let now = Date.parse("2026-03-30T23:59:00.000Z");
  const server = useTestServer({}, { clock: () => new Date(now) });

  it("refills once, as one fact, however many calls cross the boundary together", async () => {
    const alice = await clientFor(server.url, "alice");
    const gateway = await clientFor(server.url, "gw", ["gateway"]);
    const { secret, apiKey } = (
      await alice.request(CreatePolicyKeyDocument, {
        input: { service: "SMS", name: "monthly", credits: { remaining: 0, refill: { amount: 7, interval: "MONTHLY", day: 31 } } },
      })
    ).createApiKey;
    const burst = () => Promise.all(Array.from({ length: 30 }, () => gateway.request(VerifyWithPoliciesDocument, { input: { key: secret, service: "SMS" } })));
    expect((await burst()).every((a) => a.verifyApiKey.code === "USAGE_EXCEEDED")).toBe(true);
    now = Date.parse("2026-03-31T00:00:00.000Z");
    const answers = (await burst()).map((a) => a.verifyApiKey);
    expect(answers.filter((a) => a.code === "VALID").map((a) => a.credits!.remaining).sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // April has 30 days: its refill on "day 31" comes on the 30th, not before.
    now = Date.parse("2026-04-29T23:59:59.999Z");
    expect((await burst()).every((a) => a.verifyApiKey.code === "USAGE_EXCEEDED")).toBe(true);
    now = Date.parse("2026-04-30T00:00:00.000Z");
    expect((await burst()).filter((a) => a.verifyApiKey.code === "VALID")).toHaveLength(7);
    const refills = (await server.services.store.readStream(uuidOf(apiKey.id))).filter((e) => e.type === "CreditsRefilled");
    expect(refills.map((e) => [e.data.remaining, e.data.boundary])).toEqual([
      [7, "2026-03-31T00:00:00.000Z"],
      [7, "2026-04-30T00:00:00.000Z"],
    ]);
  });
});
