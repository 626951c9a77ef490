import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import type { GraphQLClient } from "graphql-request";
import { exportNdjson } from "../src/audit/export.js";
import { parseEventLine } from "../src/audit/ndjson.js";
import { readLogFromNdjson, verifyDatabaseLog, verifyLog } from "../src/audit/verify-log.js";
import { EVENT_TYPES, parseEvent } from "../src/domain/events.js";
import {
  AddCreditsDocument,
  CreatePolicyKeyDocument,
  OnPolicyKeyChangedDocument,
  PolicyKeysAsOfDocument,
  RotateKeyDocument,
  UpdatePoliciesDocument,
  VerifyWithPoliciesDocument,
  type KeyPoliciesFragment,
  type VerifyApiKeyInput,
} from "./generated/graphql.js";
import { clientFor, tokenFor } from "./support/clients.js";
import { backendName } from "./support/databases.js";
import { useTestServer } from "./support/server.js";
import { collect, wsClient, type Collected } from "./support/subscriptions.js";

const DAY = 86_400_000;
let now = Date.parse("2026-11-24T10:00:00.000Z");
const clock = () => new Date(now);

/** Event types older than key policies that this log does not exercise; it holds every other type. */
const NOT_EXERCISED = ["KeyToggled", "KeyUpdated", "KeyRevoked"];

describe(`key policies in the audit trail, keyChanged and time travel (${backendName})`, () => {
  const server = useTestServer({}, { clock });
  let alice: GraphQLClient;
  let gateway: GraphQLClient;
  let dir: string;
  let changes: Collected<{ keyChanged: { change: string; position: string; apiKey: KeyPoliciesFragment } }>;
  let disposeWs: () => Promise<void>;
  let keyId: string;
  let successorId: string;
  /** Log positions before each change, and what the key looked like there. */
  const before: Record<string, bigint> = {};

  const head = async () => (await server.services.store.head()).position;
  const verify = async (key: string, input: Partial<VerifyApiKeyInput> = {}) =>
    (await gateway.request(VerifyWithPoliciesDocument, { input: { key, service: "SMS", ...input } })).verifyApiKey;
  const update = (input: Record<string, unknown>) => alice.request(UpdatePoliciesDocument, { input: { id: keyId, ...input } });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "keyledger-policies-audit-"));
    alice = await clientFor(server.url, "alice");
    gateway = await clientFor(server.url, "gw", ["gateway"]);
    const ws = wsClient(server.url, await tokenFor("alice"));
    disposeWs = async () => {
      await ws.dispose();
    };
    const base = server.services.follower.subscriptionsStarted;
    changes = collect(ws, OnPolicyKeyChangedDocument, { service: "SMS" });
    for (let waited = 0; server.services.follower.subscriptionsStarted <= base; waited += 20) {
      if (waited > 5_000) throw new Error("the keyChanged subscription did not start");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    const created = await alice.request(CreatePolicyKeyDocument, {
      input: {
        service: "SMS",
        name: "audited",
        permissions: ["sms.send"],
        ratelimits: [{ name: "r", limit: 2, durationMs: 60_000 }],
        credits: { remaining: 3, refill: { amount: 5, interval: "DAILY" } },
      },
    });
    keyId = created.createApiKey.apiKey.id;
    const secret = created.createApiKey.secret;
    await verify(secret);
    await verify(secret);
    expect((await verify(secret)).code).toBe("RATE_LIMITED");
    before.policies = await head();
    await update({ expiresAt: new Date(now + 10 * DAY).toISOString() });
    await update({ permissions: ["sms.send", "reports.*"] });
    await update({ meta: { plan: "pro" } });
    await update({ ratelimits: [{ name: "r", limit: 100, durationMs: 60_000 }] });
    before.credits = await head();
    await update({ credits: { remaining: 1, refill: { amount: 5, interval: "DAILY" } } });
    await alice.request(AddCreditsDocument, { input: { id: keyId, amount: 2 } });
    await verify(secret, { cost: 3 });
    expect((await verify(secret)).code).toBe("USAGE_EXCEEDED");
    now += DAY;
    expect((await verify(secret)).credits!.remaining).toBe(4);
    before.rotation = await head();
    const rotated = await alice.request(RotateKeyDocument, { input: { id: keyId, gracePeriodMs: 0 } });
    successorId = rotated.rotateApiKey.apiKey.id;
    expect((await verify(secret)).code).toBe("EXPIRED");
  });
  afterAll(async () => {
    await disposeWs?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it("exports every new event type as NDJSON that verifyLog accepts, each payload valid for its schema", async () => {
    const path = join(dir, "log.ndjson");
    const out = createWriteStream(path);
    await exportNdjson(server.services.db, 0n, out);
    out.end();
    await finished(out);
    const events = readFileSync(path, "utf8").split("\n").filter(Boolean).map(parseEventLine);
    expect(events.map((e) => e.position)).toEqual(Array.from({ length: events.length }, (_, i) => BigInt(i + 1)));
    const types = new Set(events.map((e) => e.type));
    for (const type of EVENT_TYPES.filter((t) => !NOT_EXERCISED.includes(t))) expect(types, type).toContain(type);
    for (const event of events) expect(EVENT_TYPES).toContain(event.type);
    for (const event of events) parseEvent(event.type, event.schemaVersion, event.data);
    expect(events.find((e) => e.type === "KeyDenied")!.data).toMatchObject({ code: "RATE_LIMITED", ratelimit: "r" });

    const checked = await verifyLog(readLogFromNdjson(path), [], { keys: [] });
    expect(checked).toMatchObject({ ok: true, eventsChecked: String(events.length), firstBadPosition: null });
    expect(await verifyDatabaseLog(server.services.db)).toMatchObject({ ok: true, eventsChecked: String(events.length) });
  });

  it("reports policy changes as UPDATED and the rotation as ROTATED on keyChanged", async () => {
    await expect.poll(() => changes.items.length, { timeout: 5_000 }).toBe(9);
    const kinds = changes.items.map((i) => [i.keyChanged.change, i.keyChanged.apiKey.id]);
    expect(kinds.slice(0, 7)).toEqual([
      ["CREATED", keyId],
      ...Array.from({ length: 6 }, () => ["UPDATED", keyId]),
    ]);
    // The rotation creates the successor and marks the old key rotated, in one transaction.
    expect(kinds.slice(7)).toEqual(expect.arrayContaining([["CREATED", successorId], ["ROTATED", keyId]]));
    const updates = changes.items.slice(1, 7).map((i) => i.keyChanged.apiKey);
    expect(updates.map((k) => k.version)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(updates[1]!.permissions).toEqual(["reports.*", "sms.send"]);
    expect(updates[5]!.credits!.remaining).toBe(3);
    const rotatedKey = changes.items.find((i) => i.keyChanged.change === "ROTATED")!.keyChanged.apiKey;
    expect(rotatedKey.rotatedTo!.id).toBe(successorId);
    expect(changes.errors).toEqual([]);
  });

  it("time travel shows a key's policies and credit balance as of a position before a change", async () => {
    const asOf = async (position: bigint) => {
      const { apiKeys } = await alice.request(PolicyKeysAsOfDocument, { asOf: position.toString(), first: 10 });
      return apiKeys.edges.map((e) => e.node).find((k) => k.id === keyId)!;
    };
    const beforePolicies = await asOf(before.policies!);
    expect(beforePolicies).toMatchObject({
      expiresAt: null,
      permissions: ["sms.send"],
      meta: null,
      ratelimits: [{ name: "r", limit: 2, durationMs: 60_000 }],
      credits: { remaining: 1, refill: { amount: 5, interval: "DAILY", day: null } },
      rotatedTo: null,
    });
    const beforeCredits = await asOf(before.credits!);
    expect(beforeCredits).toMatchObject({ permissions: ["reports.*", "sms.send"], meta: { plan: "pro" }, ratelimits: [{ limit: 100 }], credits: { remaining: 1 } });
    expect(beforeCredits.expiresAt).not.toBeNull();
    const beforeRotation = await asOf(before.rotation!);
    expect(beforeRotation).toMatchObject({ credits: { remaining: 4 }, rotatedTo: null, status: "ACTIVE" });
    const atHead = await asOf(await head());
    expect(atHead.rotatedTo!.id).toBe(successorId);
  });
});
