import { beforeAll, describe, expect, it } from "vitest";
import type { GraphQLClient } from "graphql-request";
import { hashKey } from "../src/domain/key-format.js";
import {
  CreateKeyDocument,
  KeyUsageBucketsDocument,
  KeyUsageStatsDocument,
  RevokeKeyDocument,
  SetStatusDocument,
  VerifyDocument,
  type Service,
} from "./generated/graphql.js";
import { clientFor, expectCode } from "./support/clients.js";
import { backendName } from "./support/databases.js";
import { useTestServer } from "./support/server.js";

describe(`key verification (${backendName})`, () => {
  const server = useTestServer();
  let alice: GraphQLClient;
  let gateway: GraphQLClient;

  async function createKey(service: Service = "SMS", name = "k") {
    return (await alice.request(CreateKeyDocument, { input: { service, name } })).createApiKey;
  }
  const verify = (key: string, service: Service = "SMS", client = gateway) =>
    client.request(VerifyDocument, { input: { key, service } }).then((r) => r.verifyApiKey);

  async function countKeyUsed(): Promise<number> {
    const { rows } = await server.services.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE type = 'KeyUsed'`);
    return rows[0]!.n;
  }

  beforeAll(async () => {
    alice = await clientFor(server.url, "alice");
    gateway = await clientFor(server.url, "sms-gateway", ["gateway"]);
  });

  it("answers VALID for an active key of the right service and records KeyUsed", async () => {
    const { secret, apiKey } = await createKey();
    const before = await countKeyUsed();
    expect(await verify(secret)).toEqual({ valid: true, code: "VALID", keyId: apiKey.id, ownerId: "alice" });
    expect(await countKeyUsed()).toBe(before + 1);
    const [used] = (await server.services.store.readAll(0n, 100_000)).filter((e) => e.type === "KeyUsed").slice(-1);
    expect(used!.data).toMatchObject({ service: "SMS", gatewayId: "sms-gateway" });
    expect(used!.streamVersion).toBeNull();
  });

  it("answers NOT_FOUND for malformed keys, bad checksums and unknown keys, and records nothing", async () => {
    const { secret } = await createKey();
    const before = await countKeyUsed();
    const flipped = secret.slice(0, 12) + (secret[12] === "A" ? "B" : "A") + secret.slice(13);
    const unknownButWellFormed = (await createKey()).secret;
    await server.services.db.query(`DELETE FROM api_keys WHERE key_hash = $1`, [hashKey(unknownButWellFormed)]);
    for (const key of ["", "hello", "klp_sms_short", flipped, `${secret}x`, unknownButWellFormed]) {
      expect(await verify(key), key).toEqual({ valid: false, code: "NOT_FOUND", keyId: null, ownerId: null });
    }
    expect(await countKeyUsed()).toBe(before);
  });

  it("answers DISABLED, REVOKED and WRONG_SERVICE, and honours a toggle at once", async () => {
    const { secret, apiKey } = await createKey("EMAIL");
    expect((await verify(secret, "SMS")).code).toBe("WRONG_SERVICE");
    expect((await verify(secret, "EMAIL")).code).toBe("VALID");
    await alice.request(SetStatusDocument, { input: { id: apiKey.id, status: "INACTIVE" } });
    expect(await verify(secret, "EMAIL")).toEqual({ valid: false, code: "DISABLED", keyId: apiKey.id, ownerId: "alice" });
    await alice.request(SetStatusDocument, { input: { id: apiKey.id, status: "ACTIVE" } });
    expect((await verify(secret, "EMAIL")).code).toBe("VALID");
    await alice.request(RevokeKeyDocument, { input: { id: apiKey.id } });
    expect((await verify(secret, "EMAIL")).code).toBe("REVOKED");
    const stats = await alice.request(KeyUsageStatsDocument, { id: apiKey.id });
    expect(stats.apiKey.usageCount).toBe(2);
  });

  it("lets only gateways and admins verify", async () => {
    const { secret } = await createKey();
    await expectCode(verify(secret, "SMS", alice), "FORBIDDEN");
    await expectCode(verify(secret, "SMS", await clientFor(server.url, "audit", ["auditor"])), "FORBIDDEN");
    expect((await verify(secret, "SMS", await clientFor(server.url, "root", ["admin"]))).code).toBe("VALID");
  });

  it("records the caller's real roles on KeyUsed, as decisions do", async () => {
    const { secret } = await createKey();
    const callers = [
      [gateway, "sms-gateway", "gateway"],
      [await clientFor(server.url, "root", ["admin"]), "root", "admin"],
      [await clientFor(server.url, "both", ["gateway", "admin"]), "both", "admin,gateway"],
    ] as const;
    for (const [client, actorId, actorRole] of callers) {
      const head = await server.services.store.head();
      expect((await verify(secret, "SMS", client)).code).toBe("VALID");
      const [used] = await server.services.store.readAll(head.position, 10);
      expect(used).toMatchObject({ type: "KeyUsed", data: { gatewayId: actorId }, metadata: { actorId, actorRole } });
    }
  });

  it("advances lastUsedAt and usageCount, and fills usage buckets", async () => {
    const { secret, apiKey } = await createKey();
    const fresh = await alice.request(KeyUsageStatsDocument, { id: apiKey.id });
    expect(fresh.apiKey).toMatchObject({ lastUsedAt: null, usageCount: 0 });
    const start = Date.now();
    for (let i = 0; i < 5; i++) expect((await verify(secret)).code).toBe("VALID");
    const used = await alice.request(KeyUsageStatsDocument, { id: apiKey.id });
    expect(used.apiKey.usageCount).toBe(5);
    expect(Date.parse(used.apiKey.lastUsedAt!)).toBeGreaterThanOrEqual(start - 1000);
    const hour = Math.floor(start / 3_600_000) * 3_600_000;
    const from = new Date(hour - 3 * 3_600_000).toISOString();
    const to = new Date(hour + 2 * 3_600_000).toISOString();
    const hours = await alice.request(KeyUsageBucketsDocument, { keyId: apiKey.id, from, to, granularity: "HOUR" });
    expect(hours.keyUsage).toHaveLength(5);
    expect(hours.keyUsage.reduce((sum, b) => sum + b.count, 0)).toBe(5);
    expect(hours.keyUsage.filter((b) => b.count > 0).length).toBeLessThanOrEqual(2);
    for (const bucket of hours.keyUsage) expect(new Date(bucket.start).getUTCMinutes()).toBe(0);
    const minutes = await alice.request(KeyUsageBucketsDocument, { keyId: apiKey.id, from, to, granularity: "MINUTE" });
    expect(minutes.keyUsage).toHaveLength(300);
    const unaligned = await alice.request(KeyUsageBucketsDocument, {
      keyId: apiKey.id,
      from: new Date(hour + 90_000).toISOString(),
      to: new Date(hour + 150_000).toISOString(),
      granularity: "MINUTE",
    });
    expect(unaligned.keyUsage.map((b) => b.start)).toEqual([new Date(hour + 60_000).toISOString(), new Date(hour + 120_000).toISOString()]);
    expect(minutes.keyUsage.reduce((sum, b) => sum + b.count, 0)).toBe(5);
    const days = await alice.request(KeyUsageBucketsDocument, { keyId: apiKey.id, from, to, granularity: "DAY" });
    expect(days.keyUsage.reduce((sum, b) => sum + b.count, 0)).toBe(5);
    await expectCode(alice.request(KeyUsageBucketsDocument, { keyId: apiKey.id, from: to, to: from, granularity: "DAY" }), "BAD_USER_INPUT", "to");
    await expectCode(
      alice.request(KeyUsageBucketsDocument, { keyId: apiKey.id, from: "2000-01-01T00:00:00Z", to, granularity: "MINUTE" }),
      "BAD_USER_INPUT",
      "granularity",
    );
    const bob = await clientFor(server.url, "bob");
    await expectCode(bob.request(KeyUsageBucketsDocument, { keyId: apiKey.id, from, to, granularity: "HOUR" }), "NOT_FOUND");
  });

  it("loses and duplicates nothing under concurrent verification of hot keys", async () => {
    const keys = await Promise.all([createKey(), createKey(), createKey()]);
    await alice.request(SetStatusDocument, { input: { id: keys[2]!.apiKey.id, status: "INACTIVE" } });
    const before = await countKeyUsed();
    const head = await server.services.store.head();
    const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => verify(keys[i % 3]!.secret)));
    const valid = answers.filter((a) => a.code === "VALID").length;
    expect(valid).toBe(200);
    expect(answers.filter((a) => a.code === "DISABLED")).toHaveLength(100);
    expect(await countKeyUsed()).toBe(before + valid);
    // Every answer is one fact: KeyUsed for VALID, KeyDenied for a refused known key.
    const appended = await server.services.store.readAll(head.position, 10_000);
    expect(appended).toHaveLength(300);
    expect(appended.filter((e) => e.type === "KeyUsed")).toHaveLength(valid);
    expect(appended.filter((e) => e.type === "KeyDenied")).toHaveLength(100);
    expect(new Set(appended.map((e) => e.eventId)).size).toBe(300);
    appended.forEach((e, i) => expect(e.position).toBe(head.position + BigInt(i + 1)));
    for (const key of keys.slice(0, 2)) {
      const stats = await alice.request(KeyUsageStatsDocument, { id: key.apiKey.id });
      expect(stats.apiKey.usageCount).toBe(100);
    }
  });
});
