import { beforeAll, describe, expect, it } from "vitest";
import type { GraphQLClient } from "graphql-request";
import {
  CreateKeyDocument,
  EventsDocument,
  KeysAsOfDocument,
  OnEventsDocument,
  SetStatusDocument,
  UpdateKeyDocument,
  VerifyDocument,
} from "./generated/graphql.js";
import { clientFor, expectCode, tokenFor } from "./support/clients.js";
import { backendName } from "./support/databases.js";
import { useTestServer } from "./support/server.js";
import { collect, wsClient } from "./support/subscriptions.js";

describe(`the log as an API (${backendName})`, () => {
  const server = useTestServer();
  let alice: GraphQLClient;
  let bob: GraphQLClient;
  let auditor: GraphQLClient;
  let gateway: GraphQLClient;

  const createKey = async (client: GraphQLClient, name: string) =>
    (await client.request(CreateKeyDocument, { input: { service: "SMS", name } })).createApiKey;
  const rawId = (globalId: string) => Buffer.from(globalId, "base64").toString().split(":")[1]!;

  beforeAll(async () => {
    alice = await clientFor(server.url, "alice");
    bob = await clientFor(server.url, "bob");
    auditor = await clientFor(server.url, "audit", ["auditor"]);
    gateway = await clientFor(server.url, "gw", ["gateway"]);
  });

  it("pages through the whole log in strictly increasing positions, resuming exactly after a position", async () => {
    const { secret, apiKey } = await createKey(alice, "logged");
    await gateway.request(VerifyDocument, { input: { key: secret, service: "SMS" } });
    await alice.request(SetStatusDocument, { input: { id: apiKey.id, status: "INACTIVE" } });
    const seen: string[] = [];
    let after: string | null | undefined;
    for (;;) {
      const { events } = await auditor.request(EventsDocument, { first: 2, after });
      seen.push(...events.edges.map((e) => e.node.position));
      if (!events.pageInfo.hasNextPage) break;
      after = events.pageInfo.endCursor;
    }
    expect(seen).toEqual(seen.map((_, i) => String(i + 1)));
    const { events } = await auditor.request(EventsDocument, { streamId: apiKey.id });
    expect(events.edges.map((e) => e.node.type)).toEqual(["KeyCreated", "KeyUsed", "KeyToggled"]);
    const [created, used] = events.edges.map((e) => e.node);
    expect(created).toMatchObject({ streamId: rawId(apiKey.id), streamVersion: 1, schemaVersion: 2, actor: { id: "alice", role: "owner" } });
    expect(created!.data).toMatchObject({ name: "logged", service: "SMS" });
    expect(JSON.stringify(created!.data)).not.toContain(secret);
    expect(created!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(used).toMatchObject({ streamVersion: null, actor: { id: "gw", role: "gateway" } });
  });

  it("filters by type and time, and scopes owners to their own keys", async () => {
    const bobs = await createKey(bob, "bob's");
    const mine = await alice.request(EventsDocument, { first: 1000 });
    expect(mine.events.edges.length).toBeGreaterThan(0);
    expect(mine.events.edges.map((e) => e.node.streamId)).not.toContain(rawId(bobs.apiKey.id));
    const bobsView = await bob.request(EventsDocument, { first: 1000 });
    expect(new Set(bobsView.events.edges.map((e) => e.node.streamId))).toEqual(new Set([rawId(bobs.apiKey.id)]));
    const toggles = await auditor.request(EventsDocument, { types: ["KeyToggled"] });
    expect(toggles.events.edges.every((e) => e.node.type === "KeyToggled")).toBe(true);
    const future = await auditor.request(EventsDocument, { since: new Date(Date.now() + 60_000).toISOString() });
    expect(future.events.edges).toEqual([]);
    const past = await auditor.request(EventsDocument, { until: new Date(Date.now() + 60_000).toISOString(), first: 1000 });
    expect(past.events.edges.length).toBeGreaterThan(3);
    await expectCode(gateway.request(EventsDocument, {}), "FORBIDDEN");
    await expectCode(auditor.request(EventsDocument, { after: "x1" }), "BAD_USER_INPUT", "after");
  });

  it("subscribes from a position: history, then live, with no gap and no duplicate at the seam", async () => {
    const keys = await Promise.all([createKey(alice, "s1"), createKey(alice, "s2")]);
    const { events } = await auditor.request(EventsDocument, { first: 1000 });
    const from = events.edges[2]!.node.position;
    const ws = wsClient(server.url, await tokenFor("audit", ["auditor"]));
    const sees = collect(ws, OnEventsDocument, { afterPosition: from });
    // Appends race the subscription's history read.
    const writes = Array.from({ length: 40 }, (_, i) =>
      gateway.request(VerifyDocument, { input: { key: keys[i % 2]!.secret, service: "SMS" } }),
    );
    await Promise.all(writes);
    const head = (await server.services.store.head()).position;
    await expect.poll(() => sees.items.at(-1)?.events.position, { timeout: 10_000 }).toBe(head.toString());
    const positions = sees.items.map((i) => BigInt(i.events.position));
    const expected = Array.from({ length: Number(head - BigInt(from)) }, (_, i) => BigInt(from) + BigInt(i + 1));
    expect(positions).toEqual(expected);
    await ws.dispose();
  });

  it("gives each subscriber attaching during a stream of verifications, with nobody else subscribed, a gapless log from its position", async () => {
    const { secret } = await createKey(alice, "seams");
    let writing = true;
    const load = (async () => {
      while (writing) await Promise.all(Array.from({ length: 5 }, () => gateway.request(VerifyDocument, { input: { key: secret, service: "SMS" } })));
    })();
    const token = await tokenFor("audit", ["auditor"]);
    for (let round = 0; round < 4; round++) {
      // Nobody is subscribed here: the server's follower moves on without reading the events.
      await new Promise((resolve) => setTimeout(resolve, 30));
      const from = (await server.services.store.head()).position;
      const ws = wsClient(server.url, token);
      const sees = collect(ws, OnEventsDocument, { afterPosition: from.toString() });
      await expect.poll(() => sees.items.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(20);
      await ws.dispose();
      const positions = sees.items.map((i) => BigInt(i.events.position));
      expect(positions).toEqual(positions.map((_, i) => from + BigInt(i + 1)));
    }
    writing = false;
    await load;
  });

  it("resumes after a reconnect from the last position it received, missing nothing", async () => {
    const { secret } = await createKey(alice, "reconnect");
    const token = await tokenFor("alice");
    const first = wsClient(server.url, token);
    const start = (await server.services.store.head()).position.toString();
    const before = collect(first, OnEventsDocument, { afterPosition: start, types: ["KeyUsed"] });
    for (let i = 0; i < 5; i++) await gateway.request(VerifyDocument, { input: { key: secret, service: "SMS" } });
    await expect.poll(() => before.items.length).toBe(5);
    await first.dispose();
    for (let i = 0; i < 5; i++) await gateway.request(VerifyDocument, { input: { key: secret, service: "SMS" } });
    const second = wsClient(server.url, token);
    const after = collect(second, OnEventsDocument, { afterPosition: before.items.at(-1)!.events.position, types: ["KeyUsed"] });
    for (let i = 0; i < 3; i++) await gateway.request(VerifyDocument, { input: { key: secret, service: "SMS" } });
    await expect.poll(() => after.items.length).toBe(8);
    const all = [...before.items, ...after.items].map((i) => BigInt(i.events.position));
    expect(new Set(all).size).toBe(13);
    expect([...all].sort((a, b) => (a < b ? -1 : 1))).toEqual(all);
    await second.dispose();
  });

  it("travels in time: the key table as it was at a position or a time", async () => {
    const carol = await clientFor(server.url, "carol");
    const { secret, apiKey } = await createKey(carol, "original");
    const atCreate = (await server.services.store.head()).position.toString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const beforeChanges = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await carol.request(UpdateKeyDocument, { input: { id: apiKey.id, name: "renamed" } });
    await gateway.request(VerifyDocument, { input: { key: secret, service: "SMS" } });
    await carol.request(SetStatusDocument, { input: { id: apiKey.id, status: "INACTIVE" } });
    await createKey(carol, "later");

    const then = await carol.request(KeysAsOfDocument, { asOf: atCreate });
    expect(then.apiKeys.totalCount).toBe(1);
    expect(then.apiKeys.edges[0]!.node).toMatchObject({ id: apiKey.id, name: "original", status: "ACTIVE", version: 1, usageCount: 0, lastUsedAt: null });
    const byTime = await carol.request(KeysAsOfDocument, { asOf: beforeChanges });
    expect(byTime.apiKeys.edges.map((e) => e.node.name)).toEqual(["original"]);
    const now = await carol.request(KeysAsOfDocument, { asOf: (await server.services.store.head()).position.toString() });
    expect(now.apiKeys.edges.map((e) => [e.node.name, e.node.status, e.node.usageCount])).toEqual([
      ["later", "ACTIVE", 0],
      ["renamed", "INACTIVE", 1],
    ]);
    const paged = await carol.request(KeysAsOfDocument, { asOf: (await server.services.store.head()).position.toString(), first: 1 });
    expect(paged.apiKeys.pageInfo.hasNextPage).toBe(true);
    const rest = await carol.request(KeysAsOfDocument, {
      asOf: (await server.services.store.head()).position.toString(),
      first: 1,
      after: paged.apiKeys.pageInfo.endCursor,
    });
    expect(rest.apiKeys.edges.map((e) => e.node.name)).toEqual(["renamed"]);
    expect((await carol.request(KeysAsOfDocument, { asOf: "0" })).apiKeys.totalCount).toBe(0);
    expect((await alice.request(KeysAsOfDocument, { asOf: atCreate })).apiKeys.edges.map((e) => e.node.id)).not.toContain(apiKey.id);
    await expectCode(carol.request(KeysAsOfDocument, { asOf: "yesterday-ish" }), "BAD_USER_INPUT", "asOf");
  });
});
