import { beforeAll, describe, expect, it } from "vitest";
import { parse, subscribe, type ExecutionResult } from "graphql";
import type { GraphQLClient } from "graphql-request";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { schema } from "../src/graphql/schema.js";
import type { Context } from "../src/graphql/context.js";
import {
  CreateKeyDocument,
  OnKeyChangedDocument,
  OnKeyUsedDocument,
  RevokeKeyDocument,
  SetStatusDocument,
  UpdateKeyDocument,
  VerifyDocument,
} from "./generated/graphql.js";
import { clientFor, tokenFor } from "./support/clients.js";
import { backendName } from "./support/databases.js";
import { useTestServer } from "./support/server.js";
import { collect, wsClient } from "./support/subscriptions.js";

describe(`subscriptions (${backendName})`, () => {
  const server = useTestServer({ SUBSCRIPTION_BUFFER: "5" });
  let alice: GraphQLClient;
  let gateway: GraphQLClient;

  const createKey = async (name: string, client = alice) =>
    (await client.request(CreateKeyDocument, { input: { service: "SMS", name } })).createApiKey;
  const verify = (key: string) => gateway.request(VerifyDocument, { input: { key, service: "SMS" } });
  const subscribed = (count: number) => expect.poll(() => server.services.follower.subscriptionsStarted, { timeout: 5_000 }).toBeGreaterThanOrEqual(count);

  beforeAll(async () => {
    alice = await clientFor(server.url, "alice");
    gateway = await clientFor(server.url, "gw", ["gateway"]);
  });

  it("streams each KeyUsed of the caller's keys over graphql-ws, and only theirs", async () => {
    const aliceKey = await createKey("alice's");
    const bob = await clientFor(server.url, "bob");
    const bobKey = await createKey("bob's", bob);
    const aliceWs = wsClient(server.url, await tokenFor("alice"));
    const bobWs = wsClient(server.url, await tokenFor("bob"));
    const adminWs = wsClient(server.url, await tokenFor("root", ["admin"]));
    const base = server.services.follower.subscriptionsStarted;
    const aliceSees = collect(aliceWs, OnKeyUsedDocument, {});
    const bobSees = collect(bobWs, OnKeyUsedDocument, { keyId: bobKey.apiKey.id });
    const adminSees = collect(adminWs, OnKeyUsedDocument, { service: "SMS" });
    await subscribed(base + 3);

    await verify(aliceKey.secret);
    await verify(bobKey.secret);
    await verify(aliceKey.secret);
    await expect.poll(() => aliceSees.items.length).toBe(2);
    await expect.poll(() => adminSees.items.length).toBe(3);
    await expect.poll(() => bobSees.items.length).toBe(1);
    expect(aliceSees.items.map((i) => i.keyUsed)).toEqual([
      expect.objectContaining({ keyId: aliceKey.apiKey.id, service: "SMS", name: "alice's", maskedKey: aliceKey.apiKey.maskedKey }),
      expect.objectContaining({ keyId: aliceKey.apiKey.id }),
    ]);
    const positions = adminSees.items.map((i) => BigInt(i.keyUsed.position));
    expect(positions[0]! < positions[1]! && positions[1]! < positions[2]!).toBe(true);
    expect(bobSees.items[0]!.keyUsed.name).toBe("bob's");
    expect(aliceSees.errors).toEqual([]);
    for (const client of [aliceWs, bobWs, adminWs]) await client.dispose();
  });

  it("streams key changes so a table stays live", async () => {
    const ws = wsClient(server.url, await tokenFor("carol"));
    const carol = await clientFor(server.url, "carol");
    const base = server.services.follower.subscriptionsStarted;
    const changes = collect(ws, OnKeyChangedDocument, { service: "SMS" });
    await subscribed(base + 1);
    const { apiKey } = await createKey("live", carol);
    await carol.request(SetStatusDocument, { input: { id: apiKey.id, status: "INACTIVE" } });
    await carol.request(UpdateKeyDocument, { input: { id: apiKey.id, name: "renamed" } });
    await carol.request(RevokeKeyDocument, { input: { id: apiKey.id } });
    await createKey("someone else's");
    await expect.poll(() => changes.items.length).toBe(4);
    expect(changes.items.map((i) => i.keyChanged.change)).toEqual(["CREATED", "TOGGLED", "UPDATED", "REVOKED"]);
    expect(changes.items.at(-1)!.keyChanged.apiKey).toMatchObject({ id: apiKey.id, name: "renamed", status: "REVOKED" });
    await ws.dispose();
  });

  it("serves subscriptions over SSE with the Authorization header", async () => {
    const { secret, apiKey } = await createKey("sse");
    const controller = new AbortController();
    const response = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${await tokenFor("alice")}` },
      body: JSON.stringify({ query: "subscription { keyUsed { keyId name } }" }),
      signal: controller.signal,
    });
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const reader = response.body!.getReader();
    let text = "";
    const received = (async () => {
      while (!text.includes(apiKey.id)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    })();
    await expect
      .poll(async () => {
        await verify(secret);
        return text.includes(apiKey.id);
      }, { timeout: 5_000, interval: 200 })
      .toBe(true);
    await received;
    controller.abort();
    expect(text).toContain('"name":"sse"');
  });

  it("closes graphql-ws connections with a missing or bad token with 4403", async () => {
    for (const token of [undefined, "not-a-token", await tokenFor("x", ["owner"], "a-different-secret-that-is-long-enough-123")]) {
      const code = await new Promise<number>((resolve) => {
        const client = createClient({
          url: server.url.replace("http", "ws"),
          webSocketImpl: WebSocket,
          retryAttempts: 0,
          connectionParams: token ? { authorization: `Bearer ${token}` } : {},
          on: { closed: (event) => resolve((event as { code: number }).code) },
        });
        client.subscribe({ query: "subscription { keyUsed { keyId } }" }, { next: () => {}, error: () => {}, complete: () => {} });
      });
      expect(code).toBe(4403);
    }
  });

  it("refuses subscriptions to gateways", async () => {
    const ws = wsClient(server.url, await tokenFor("gw", ["gateway"]));
    const sees = collect(ws, OnKeyUsedDocument, {});
    await expect.poll(() => sees.done).toBe(true);
    expect(JSON.stringify(sees.errors)).toContain("FORBIDDEN");
    await ws.dispose();
  });

  it("closes a subscriber that falls more than its buffer behind, without stalling the others", async () => {
    const { secret } = await createKey("hot");
    const context = {
      ...server.services,
      requestId: "test",
      auth: { viewer: { userId: "alice", roles: new Set(["owner"] as const) } },
    } as unknown as Context;
    const document = parse("subscription { keyUsed { position } }");
    const slow = (await subscribe({ schema, document, contextValue: context })) as AsyncGenerator<ExecutionResult>;
    const ws = wsClient(server.url, await tokenFor("alice"));
    const base = server.services.follower.subscriptionsStarted;
    const fast = collect(ws, OnKeyUsedDocument, {});
    await subscribed(base + 1);

    for (let i = 0; i < 12; i++) await verify(secret);
    await expect.poll(() => fast.items.length).toBe(12);
    await server.services.follower.catchUp();

    const delivered: ExecutionResult[] = [];
    for await (const result of slow) delivered.push(result);
    expect(delivered.slice(0, 5).map((r) => r.errors)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(delivered).toHaveLength(6);
    expect(delivered[5]!.errors?.[0]?.extensions?.code).toBe("SUBSCRIPTION_OVERFLOW");
    expect(fast.errors).toEqual([]);
    await ws.dispose();
  });
});
