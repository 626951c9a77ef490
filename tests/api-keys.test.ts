import { beforeAll, describe, expect, it } from "vitest";
import type { GraphQLClient } from "graphql-request";
import { parseKey } from "../src/domain/key-format.js";
import {
  CreateKeyDocument,
  GetKeyDocument,
  GetNodeDocument,
  ListKeysDocument,
  RevokeKeyDocument,
  SetStatusDocument,
  UpdateKeyDocument,
  type Service,
} from "./generated/graphql.js";
import { backendName } from "./support/databases.js";
import { clientFor, expectCode } from "./support/clients.js";
import { useTestServer } from "./support/server.js";

const SLUG: Record<Service, string> = { EMAIL: "email", SMS: "sms", KALP_BOT: "bot", STUDIO: "studio" };

describe(`API keys over GraphQL (${backendName})`, () => {
  const server = useTestServer();
  let alice: GraphQLClient;
  let bob: GraphQLClient;
  const secrets: string[] = [];

  async function create(client: GraphQLClient, service: Service, name: string, description?: string) {
    const { createApiKey } = await client.request(CreateKeyDocument, { input: { service, name, description } });
    secrets.push(createApiKey.secret);
    return createApiKey;
  }

  async function keyEvents(apiKeyId: string) {
    const keyId = Buffer.from(apiKeyId, "base64").toString().split(":")[1]!;
    return server.services.store.readStream(keyId);
  }

  beforeAll(async () => {
    alice = await clientFor(server.url, "alice");
    bob = await clientFor(server.url, "bob");
  });

  it.each(["EMAIL", "SMS", "KALP_BOT", "STUDIO"] as const)("creates a %s key whose secret has the documented format", async (service) => {
    const { secret, apiKey } = await create(alice, service, `  ${service} key  `, "for the tests");
    expect(secret).toMatch(new RegExp(`^klp_${SLUG[service]}_[0-9A-Za-z]{43}[0-9A-Za-z]{6}$`));
    expect(parseKey(secret)).toEqual({ service });
    const tampered = secret.slice(0, 20) + (secret[20] === "a" ? "b" : "a") + secret.slice(21);
    expect(parseKey(tampered)).toBeUndefined();
    expect(apiKey).toMatchObject({
      service,
      name: `${service} key`,
      description: "for the tests",
      status: "ACTIVE",
      version: 1,
      lastUsedAt: null,
      maskedKey: `klp_${SLUG[service]}_${secret.slice(`klp_${SLUG[service]}_`.length, `klp_${SLUG[service]}_`.length + 4)}…${secret.slice(-4)}`,
    });
    const events = await keyEvents(apiKey.id);
    expect(events.map((e) => e.type)).toEqual(["KeyCreated"]);
    expect(events[0]!.metadata).toMatchObject({ actorId: "alice", actorRole: "owner" });
  });

  it("lists each service's live table newest first, with pagination and totalCount", async () => {
    const carol = await clientFor(server.url, "carol");
    const names = ["one", "two", "three", "four", "five"];
    for (const name of names) await create(carol, "SMS", name);
    await create(carol, "EMAIL", "mail");
    const firstPage = await carol.request(ListKeysDocument, { service: "SMS", first: 2 });
    expect(firstPage.apiKeys.totalCount).toBe(5);
    expect(firstPage.apiKeys.edges.map((e) => e.node.name)).toEqual(["five", "four"]);
    expect(firstPage.apiKeys.pageInfo.hasNextPage).toBe(true);
    const secondPage = await carol.request(ListKeysDocument, { service: "SMS", first: 2, after: firstPage.apiKeys.pageInfo.endCursor });
    expect(secondPage.apiKeys.edges.map((e) => e.node.name)).toEqual(["three", "two"]);
    const lastPage = await carol.request(ListKeysDocument, { service: "SMS", first: 2, after: secondPage.apiKeys.pageInfo.endCursor });
    expect(lastPage.apiKeys.edges.map((e) => e.node.name)).toEqual(["one"]);
    expect(lastPage.apiKeys.pageInfo.hasNextPage).toBe(false);
    const email = await carol.request(ListKeysDocument, { service: "EMAIL" });
    expect(email.apiKeys.edges.map((e) => e.node.name)).toEqual(["mail"]);
    const all = await carol.request(ListKeysDocument, {});
    expect(all.apiKeys.totalCount).toBe(6);
    for (const edge of all.apiKeys.edges) expect(edge.node.maskedKey).toMatch(/^klp_[a-z]+_[0-9A-Za-z]{4}…[0-9A-Za-z]{4}$/);
  });

  it("rejects bad pagination arguments as BAD_USER_INPUT", async () => {
    await expectCode(alice.request(ListKeysDocument, { first: -1 }), "BAD_USER_INPUT", "first");
    await expectCode(alice.request(ListKeysDocument, { after: "not-a-cursor" }), "BAD_USER_INPUT", "after");
  });

  it("toggles status with one event per real change, and none for a no-op", async () => {
    const { apiKey } = await create(alice, "SMS", "toggle me");
    const off = await alice.request(SetStatusDocument, { input: { id: apiKey.id, status: "INACTIVE" } });
    expect(off.setKeyStatus.apiKey).toMatchObject({ status: "INACTIVE", version: 2 });
    const again = await alice.request(SetStatusDocument, { input: { id: apiKey.id, status: "INACTIVE" } });
    expect(again.setKeyStatus.apiKey).toMatchObject({ status: "INACTIVE", version: 2 });
    const on = await alice.request(SetStatusDocument, { input: { id: apiKey.id, status: "ACTIVE", expectedVersion: 2 } });
    expect(on.setKeyStatus.apiKey).toMatchObject({ status: "ACTIVE", version: 3 });
    const events = await keyEvents(apiKey.id);
    expect(events.map((e) => [e.type, e.data.from, e.data.to])).toEqual([
      ["KeyCreated", undefined, undefined],
      ["KeyToggled", "ACTIVE", "INACTIVE"],
      ["KeyToggled", "INACTIVE", "ACTIVE"],
    ]);
    const listed = await alice.request(ListKeysDocument, { service: "SMS", status: "ACTIVE" });
    expect(listed.apiKeys.edges.some((e) => e.node.id === apiKey.id)).toBe(true);
  });

  it("refuses a stale expectedVersion with CONFLICT and changes nothing", async () => {
    const { apiKey } = await create(alice, "EMAIL", "versioned");
    await alice.request(SetStatusDocument, { input: { id: apiKey.id, status: "INACTIVE", expectedVersion: 1 } });
    await expectCode(alice.request(SetStatusDocument, { input: { id: apiKey.id, status: "ACTIVE", expectedVersion: 1 } }), "CONFLICT");
    await expectCode(alice.request(UpdateKeyDocument, { input: { id: apiKey.id, name: "x", expectedVersion: 7 } }), "CONFLICT");
    expect((await keyEvents(apiKey.id)).length).toBe(2);
  });

  it("lets exactly one of two concurrent changes at the same version through", async () => {
    const { apiKey } = await create(alice, "EMAIL", "raced");
    const results = await Promise.allSettled([
      alice.request(UpdateKeyDocument, { input: { id: apiKey.id, name: "first", expectedVersion: 1 } }),
      alice.request(UpdateKeyDocument, { input: { id: apiKey.id, name: "second", expectedVersion: 1 } }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === "rejected")!;
    expect(rejected.reason.response.errors[0].extensions.code).toBe("CONFLICT");
    expect((await keyEvents(apiKey.id)).map((e) => e.streamVersion)).toEqual([1, 2]);
  });

  it("edits name and description, recording old and new values, and appends nothing when unchanged", async () => {
    const { apiKey } = await create(alice, "STUDIO", "before", "old text");
    const edited = await alice.request(UpdateKeyDocument, { input: { id: apiKey.id, name: " after ", description: "new text" } });
    expect(edited.updateApiKey.apiKey).toMatchObject({ name: "after", description: "new text", version: 2 });
    const same = await alice.request(UpdateKeyDocument, { input: { id: apiKey.id, name: "after" } });
    expect(same.updateApiKey.apiKey.version).toBe(2);
    const cleared = await alice.request(UpdateKeyDocument, { input: { id: apiKey.id, description: null } });
    expect(cleared.updateApiKey.apiKey).toMatchObject({ name: "after", description: null, version: 3 });
    const events = await keyEvents(apiKey.id);
    expect(events[1]!.data).toMatchObject({ name: { from: "before", to: "after" }, description: { from: "old text", to: "new text" } });
    expect(events[2]!.data).toEqual({ keyId: expect.any(String), description: { from: "new text", to: null } });
  });

  it("revokes for good: the key leaves the live table, and re-activating or editing it is CONFLICT", async () => {
    const { apiKey } = await create(alice, "KALP_BOT", "doomed");
    const revoked = await alice.request(RevokeKeyDocument, { input: { id: apiKey.id, reason: "leaked" } });
    expect(revoked.revokeApiKey.apiKey).toMatchObject({ status: "REVOKED", revokeReason: "leaked", version: 2 });
    expect(revoked.revokeApiKey.apiKey.revokedAt).not.toBeNull();
    const live = await alice.request(ListKeysDocument, { service: "KALP_BOT" });
    expect(live.apiKeys.edges.some((e) => e.node.id === apiKey.id)).toBe(false);
    const gone = await alice.request(ListKeysDocument, { service: "KALP_BOT", status: "REVOKED" });
    expect(gone.apiKeys.edges.map((e) => e.node.id)).toContain(apiKey.id);
    await expectCode(alice.request(SetStatusDocument, { input: { id: apiKey.id, status: "ACTIVE" } }), "CONFLICT");
    await expectCode(alice.request(UpdateKeyDocument, { input: { id: apiKey.id, name: "revived" } }), "CONFLICT");
    const again = await alice.request(RevokeKeyDocument, { input: { id: apiKey.id } });
    expect(again.revokeApiKey.apiKey.version).toBe(2);
    expect((await keyEvents(apiKey.id)).map((e) => e.type)).toEqual(["KeyCreated", "KeyRevoked"]);
  });

  it("validates input, naming the field, and appends nothing", async () => {
    const before = await server.services.store.head();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ service: "SMS", name: "" }, "name"],
      [{ service: "SMS", name: "   " }, "name"],
      [{ service: "SMS", name: "x".repeat(65) }, "name"],
      [{ service: "SMS", name: "bad\u0007bell" }, "name"],
      [{ service: "SMS", name: "new\nline" }, "name"],
      [{ service: "SMS", name: "ok", description: "d".repeat(257) }, "description"],
      [{ service: "SMS", name: "ok", description: "tab\there" }, "description"],
    ];
    for (const [input, field] of cases) {
      await expectCode(alice.request(CreateKeyDocument, { input: input as never }), "BAD_USER_INPUT", field);
    }
    const { apiKey } = await create(alice, "SMS", "x".repeat(64), "d".repeat(256));
    const afterCreate = await server.services.store.head();
    expect(afterCreate.position).toBe(before.position + 1n);
    await expectCode(alice.request(UpdateKeyDocument, { input: { id: apiKey.id, name: "" } }), "BAD_USER_INPUT", "name");
    await expectCode(alice.request(UpdateKeyDocument, { input: { id: apiKey.id, name: null } }), "BAD_USER_INPUT", "name");
    await expectCode(alice.request(SetStatusDocument, { input: { id: apiKey.id, status: "REVOKED" } }), "BAD_USER_INPUT", "status");
    await expectCode(alice.request(RevokeKeyDocument, { input: { id: apiKey.id, reason: "r".repeat(257) } }), "BAD_USER_INPUT", "reason");
    await expectCode(alice.request(SetStatusDocument, { input: { id: apiKey.id, status: "INACTIVE", expectedVersion: -1 } }), "BAD_USER_INPUT", "expectedVersion");
    expect(await server.services.store.head()).toEqual(afterCreate);
  });

  it("refuses lone surrogates, bidi controls and invisible names as BAD_USER_INPUT naming the field, and appends nothing", async () => {
    const { apiKey } = await create(alice, "SMS", "text rules");
    const before = await server.services.store.head();
    const bad = { "lone surrogate": "x\ud800y", "bidi override": "abc\u202edcba", "bidi isolate": "a\u2066b\u2069" };
    for (const text of Object.values(bad)) {
      const id = apiKey.id;
      await expectCode(alice.request(CreateKeyDocument, { input: { service: "SMS", name: text } }), "BAD_USER_INPUT", "name");
      await expectCode(alice.request(CreateKeyDocument, { input: { service: "SMS", name: "ok", description: text } }), "BAD_USER_INPUT", "description");
      await expectCode(alice.request(UpdateKeyDocument, { input: { id, name: text } }), "BAD_USER_INPUT", "name");
      await expectCode(alice.request(UpdateKeyDocument, { input: { id, description: text } }), "BAD_USER_INPUT", "description");
      await expectCode(alice.request(RevokeKeyDocument, { input: { id, reason: text } }), "BAD_USER_INPUT", "reason");
    }
    for (const name of ["\u200b", "\u200c\u200d", "\u2060 \ufeff"]) {
      await expectCode(alice.request(CreateKeyDocument, { input: { service: "SMS", name } }), "BAD_USER_INPUT", "name");
      await expectCode(alice.request(UpdateKeyDocument, { input: { id: apiKey.id, name } }), "BAD_USER_INPUT", "name");
    }
    expect(await server.services.store.head()).toEqual(before);
    expect((await alice.request(GetKeyDocument, { id: apiKey.id })).apiKey).toMatchObject({ name: "text rules", status: "ACTIVE", version: 1 });
  });

  it("answers unknown ids with NOT_FOUND", async () => {
    const unknown = Buffer.from("ApiKey:00000000-0000-4000-8000-000000000000").toString("base64");
    await expectCode(alice.request(GetKeyDocument, { id: unknown }), "NOT_FOUND");
    await expectCode(alice.request(GetKeyDocument, { id: "garbage" }), "NOT_FOUND");
    await expectCode(alice.request(SetStatusDocument, { input: { id: unknown, status: "INACTIVE" } }), "NOT_FOUND");
    const node = await alice.request(GetNodeDocument, { id: unknown });
    expect(node.node).toBeNull();
  });

  it("keeps owners apart: another owner's key is NOT_FOUND everywhere", async () => {
    const { apiKey } = await create(alice, "EMAIL", "alice only");
    const bobs = await bob.request(ListKeysDocument, {});
    expect(bobs.apiKeys.edges.map((e) => e.node.id)).not.toContain(apiKey.id);
    await expectCode(bob.request(GetKeyDocument, { id: apiKey.id }), "NOT_FOUND");
    expect((await bob.request(GetNodeDocument, { id: apiKey.id })).node).toBeNull();
    await expectCode(bob.request(SetStatusDocument, { input: { id: apiKey.id, status: "INACTIVE" } }), "NOT_FOUND");
    await expectCode(bob.request(UpdateKeyDocument, { input: { id: apiKey.id, name: "mine" } }), "NOT_FOUND");
    await expectCode(bob.request(RevokeKeyDocument, { input: { id: apiKey.id } }), "NOT_FOUND");
    expect((await alice.request(GetNodeDocument, { id: apiKey.id })).node).toMatchObject({ name: "alice only" });
    expect((await keyEvents(apiKey.id)).length).toBe(1);
  });

  it("gives admins every key, auditors read-only access, and gateways nothing here", async () => {
    const { apiKey } = await create(alice, "SMS", "watched");
    const admin = await clientFor(server.url, "root", ["admin"]);
    const auditor = await clientFor(server.url, "audit", ["auditor"]);
    const gateway = await clientFor(server.url, "gw", ["gateway"]);
    expect((await admin.request(ListKeysDocument, { first: 100 })).apiKeys.edges.map((e) => e.node.id)).toContain(apiKey.id);
    const changed = await admin.request(SetStatusDocument, { input: { id: apiKey.id, status: "INACTIVE" } });
    expect(changed.setKeyStatus.apiKey.status).toBe("INACTIVE");
    expect((await auditor.request(GetKeyDocument, { id: apiKey.id })).apiKey.name).toBe("watched");
    await expectCode(auditor.request(SetStatusDocument, { input: { id: apiKey.id, status: "ACTIVE" } }), "FORBIDDEN");
    await expectCode(auditor.request(CreateKeyDocument, { input: { service: "SMS", name: "nope" } }), "FORBIDDEN");
    await expectCode(auditor.request(RevokeKeyDocument, { input: { id: apiKey.id } }), "FORBIDDEN");
    await expectCode(gateway.request(ListKeysDocument, {}), "FORBIDDEN");
    await expectCode(gateway.request(GetKeyDocument, { id: apiKey.id }), "FORBIDDEN");
    await expectCode(gateway.request(CreateKeyDocument, { input: { service: "SMS", name: "nope" } }), "FORBIDDEN");
    await expectCode(gateway.request(SetStatusDocument, { input: { id: apiKey.id, status: "ACTIVE" } }), "FORBIDDEN");
    const events = await keyEvents(apiKey.id);
    expect(events.at(-1)!.metadata).toMatchObject({ actorId: "root", actorRole: "admin" });
  });

  it("never shows a secret again: not in later responses, the log, or any table", async () => {
    expect(secrets.length).toBeGreaterThan(10);
    const admin = await clientFor(server.url, "root", ["admin"]);
    const responses = JSON.stringify([
      await admin.request(ListKeysDocument, { first: 100 }),
      await admin.request(ListKeysDocument, { first: 100, status: "REVOKED" }),
    ]);
    const { rows } = await server.services.db.query<{ dump: string }>(
      `SELECT (SELECT coalesce(string_agg(e::text, ' '), '') FROM events e) || (SELECT coalesce(string_agg(k::text, ' '), '') FROM api_keys k) AS dump`,
    );
    const dump = rows[0]!.dump;
    for (const secret of secrets) {
      expect(responses).not.toContain(secret);
      expect(dump).not.toContain(secret);
      expect(dump).not.toContain(secret.slice(-20));
    }
  });
});
