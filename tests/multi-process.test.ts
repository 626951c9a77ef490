import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChildProcess } from "node:child_process";
import type { GraphQLClient } from "graphql-request";
import {
  CreateKeyDocument,
  KeyUsageStatsDocument,
  OnEventsDocument,
  OnKeyUsedDocument,
  SetStatusDocument,
  VerifyDocument,
} from "./generated/graphql.js";
import { clientFor, tokenFor } from "./support/clients.js";
import { onPostgres } from "./support/databases.js";
import { runTs, servingUrl } from "./support/processes.js";
import { useTestServer, TEST_JWT_SECRET } from "./support/server.js";
import { collect, wsClient } from "./support/subscriptions.js";

describe.runIf(onPostgres)("two server processes on one PostgreSQL", () => {
  const serverA = useTestServer();
  let processB: ChildProcess;
  let urlB: string;
  let alice: GraphQLClient;
  let gatewayA: GraphQLClient;
  let gatewayB: GraphQLClient;

  beforeAll(async () => {
    const started = runTs("src/main.ts", [], {
      PORT: "0",
      HOST: "127.0.0.1",
      DATABASE_URL: serverA.location.databaseUrl!,
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: "warn",
    });
    processB = started.child;
    urlB = await servingUrl(processB);
    alice = await clientFor(serverA.url, "alice");
    gatewayA = await clientFor(serverA.url, "gw-a", ["gateway"]);
    gatewayB = await clientFor(urlB, "gw-b", ["gateway"]);
  });
  afterAll(() => {
    processB?.kill("SIGTERM");
  });

  const createKey = async (name: string) => (await alice.request(CreateKeyDocument, { input: { service: "SMS", name } })).createApiKey;

  it("delivers a KeyUsed committed on one process to a subscriber on the other", async () => {
    const { secret, apiKey } = await createKey("cross");
    const ws = wsClient(urlB, await tokenFor("alice"));
    const sees = collect(ws, OnKeyUsedDocument, { keyId: apiKey.id });
    let sent = 0;
    await expect
      .poll(async () => {
        await gatewayA.request(VerifyDocument, { input: { key: secret, service: "SMS" } });
        sent++;
        return sees.items.length;
      }, { timeout: 10_000, interval: 250 })
      .toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) await gatewayA.request(VerifyDocument, { input: { key: secret, service: "SMS" } });
    // From the first delivered event on, the subscriber on B must get every KeyUsed of the key, in order, once.
    const first = BigInt(sees.items[0]!.keyUsed.position);
    const keyId = Buffer.from(apiKey.id, "base64").toString().split(":")[1]!;
    const committed = (await serverA.services.store.readStream(keyId))
      .filter((e) => e.type === "KeyUsed" && e.position >= first)
      .map((e) => e.position.toString());
    expect(committed.length).toBeGreaterThanOrEqual(6);
    await expect.poll(() => sees.items.map((i) => i.keyUsed.position), { timeout: 5_000 }).toEqual(committed);
    expect(sent).toBeGreaterThan(0);
    expect(sees.items[0]!.keyUsed).toMatchObject({ keyId: apiKey.id, name: "cross" });
    await ws.dispose();
  });

  it("honours a toggle made on one process in verifications on the other within a second", async () => {
    const { secret, apiKey } = await createKey("switch");
    expect((await gatewayB.request(VerifyDocument, { input: { key: secret, service: "SMS" } })).verifyApiKey.code).toBe("VALID");
    await alice.request(SetStatusDocument, { input: { id: apiKey.id, status: "INACTIVE" } });
    const toggledAt = Date.now();
    await expect
      .poll(async () => (await gatewayB.request(VerifyDocument, { input: { key: secret, service: "SMS" } })).verifyApiKey.code, {
        timeout: 1_000,
        interval: 50,
      })
      .toBe("DISABLED");
    expect(Date.now() - toggledAt).toBeLessThan(1_000);
  });

  it("verifies a hot key on both processes at once without conflicts, losing nothing", async () => {
    const { secret, apiKey } = await createKey("hot");
    const verifyOn = (client: GraphQLClient) => client.request(VerifyDocument, { input: { key: secret, service: "SMS" } });
    const answers = await Promise.all(Array.from({ length: 400 }, (_, i) => verifyOn(i % 2 ? gatewayA : gatewayB)));
    expect(answers.every((a) => a.verifyApiKey.code === "VALID")).toBe(true);
    // Uses answered by B are sealed by whichever process seals, milliseconds later.
    await serverA.services.store.drained();
    const stats = await alice.request(KeyUsageStatsDocument, { id: apiKey.id });
    expect(stats.apiKey.usageCount).toBe(400);
    const keyId = Buffer.from(apiKey.id, "base64").toString().split(":")[1]!;
    const events = (await serverA.services.store.readStream(keyId)).filter((e) => e.type === "KeyUsed");
    expect(events).toHaveLength(400);
    expect(new Set(events.map((e) => e.metadata.actorId))).toEqual(new Set(["gw-a", "gw-b"]));
  });

  it("serves an events subscription on one process gaplessly while both processes write", async () => {
    const keys = await Promise.all([createKey("a"), createKey("b")]);
    const from = (await serverA.services.store.head()).position;
    const ws = wsClient(urlB, await tokenFor("audit", ["auditor"]));
    const sees = collect(ws, OnEventsDocument, { afterPosition: from.toString() });
    const verifyOn = (client: GraphQLClient, key: string) => client.request(VerifyDocument, { input: { key, service: "SMS" } });
    await Promise.all(Array.from({ length: 300 }, (_, i) => verifyOn(i % 2 ? gatewayA : gatewayB, keys[i % 2]!.secret)));
    // B's uses are sealed by whichever process seals, milliseconds after they were answered.
    await serverA.services.store.drained();
    const head = (await serverA.services.store.head()).position;
    await expect.poll(() => sees.items.length, { timeout: 10_000 }).toBe(Number(head - from));
    expect(sees.items.map((i) => BigInt(i.events.position))).toEqual(
      Array.from({ length: Number(head - from) }, (_, i) => from + BigInt(i + 1)),
    );
    await ws.dispose();
  });
});
