import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import type { GraphQLClient } from "graphql-request";
import { exportNdjson } from "../src/audit/export.js";
import { readLogFromNdjson } from "../src/audit/ndjson.js";
import { readLog } from "../src/eventstore/log-reader.js";
import type { RecordedEvent } from "../src/eventstore/types.js";
import { readLimits } from "../src/projections/key-limits/row.js";
import { rebuildProjections, verifyProjections } from "../src/projections/rebuild.js";
import { foldEvents, PROJECTION_TABLES, ReplayState } from "../src/projections/replay.js";
import {
  AddCreditsDocument,
  CreatePolicyKeyDocument,
  PolicyKeyDocument,
  RotateKeyDocument,
  UpdatePoliciesDocument,
  VerifyWithPoliciesDocument,
  type CreateApiKeyInput,
  type VerifyApiKeyInput,
} from "./generated/graphql.js";
import { clientFor } from "./support/clients.js";
import { backendName, onPostgres } from "./support/databases.js";
import { runTs } from "./support/processes.js";
import { useTestServer } from "./support/server.js";

const DAY = 86_400_000;
let now = Date.parse("2026-01-30T22:00:00.000Z");
const clock = () => new Date(now);
const uuidOf = (globalId: string) => Buffer.from(globalId, "base64").toString().split(":")[1]!;

interface Answer {
  keyId: string;
  code: string;
  remaining: number | null;
}

/**
 * Balances folded from the log by hand, independently of the domain's fold: creation and KeyCreditsSet
 * set it, CreditsAdded adds (never below 0), CreditsRefilled sets the refill amount, KeyUsed takes its
 * cost, and a rotation moves the balance to the successor, which the old key then spends.
 */
function balancesFromLog(events: RecordedEvent[]): { afterUse: Array<{ keyId: string; remaining: number | null }>; balances: Map<string, number | null> } {
  const balances = new Map<string, number | null>();
  const refills = new Map<string, number | null>();
  const accountOf = new Map<string, string>();
  const afterUse: Array<{ keyId: string; remaining: number | null }> = [];
  const account = (keyId: string) => accountOf.get(keyId) ?? keyId;
  for (const { type, data } of events) {
    const keyId = data.keyId as string;
    const credits = (data.credits ?? null) as { remaining: number; refill: { amount: number } | null } | null;
    if (type === "KeyCreated" || type === "KeyCreditsSet") {
      balances.set(keyId, credits ? credits.remaining : null);
      refills.set(keyId, credits?.refill?.amount ?? null);
    } else if (type === "CreditsAdded") {
      balances.set(keyId, Math.max(0, balances.get(keyId)! + (data.amount as number)));
    } else if (type === "CreditsRefilled") {
      expect(data.remaining).toBe(refills.get(keyId));
      balances.set(keyId, refills.get(keyId)!);
    } else if (type === "KeyRotated") {
      const to = data.toKeyId as string;
      // The successor was created with the same credits configuration; it takes over what was left.
      balances.set(to, balances.get(keyId)!);
      refills.set(to, refills.get(keyId)!);
      accountOf.set(keyId, to);
    } else if (type === "KeyUsed") {
      const id = account(keyId);
      expect(data.limitsOf ?? keyId).toBe(id);
      const before = balances.get(id) ?? null;
      const after = before === null ? null : before - (data.cost as number);
      if (after !== null) expect(after).toBeGreaterThanOrEqual(0);
      balances.set(id, after);
      expect(data.remaining).toBe(after);
      afterUse.push({ keyId, remaining: after });
    }
  }
  return { afterUse, balances };
}

describe(`key policies: replay reproduces every answer (${backendName})`, () => {
  const server = useTestServer({}, { clock });
  let alice: GraphQLClient;
  let gateway: GraphQLClient;
  const answers: Answer[] = [];
  /** The key verified concurrently: its answers arrive in any order. */
  let burstKeyId: string;
  let dir: string;

  const create = async (input: Partial<CreateApiKeyInput>) =>
    (await alice.request(CreatePolicyKeyDocument, { input: { service: "SMS", name: "replayed", ...input } })).createApiKey;
  const verify = async (key: string, input: Partial<VerifyApiKeyInput> = {}) => {
    const answer = (await gateway.request(VerifyWithPoliciesDocument, { input: { key, service: "SMS", ...input } })).verifyApiKey;
    answers.push({ keyId: uuidOf(answer.keyId!), code: answer.code, remaining: answer.credits?.remaining ?? null });
    return answer;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "keyledger-policies-replay-"));
    alice = await clientFor(server.url, "alice");
    gateway = await clientFor(server.url, "gw", ["gateway"]);

    // Credits with a daily refill and a rate limit: spend, get limited, wait out the window, run dry, refill.
    const daily = await create({ credits: { remaining: 3, refill: { amount: 2, interval: "DAILY" } }, ratelimits: [{ name: "r", limit: 2, durationMs: 60_000 }] });
    expect((await verify(daily.secret)).code).toBe("VALID");
    expect((await verify(daily.secret)).code).toBe("VALID");
    expect((await verify(daily.secret)).code).toBe("RATE_LIMITED");
    now += 61_000;
    expect((await verify(daily.secret)).credits!.remaining).toBe(0);
    expect((await verify(daily.secret)).code).toBe("USAGE_EXCEEDED");
    now += DAY;
    expect((await verify(daily.secret)).credits!.remaining).toBe(1);

    // A monthly refill on the 31st, clamped to February's last day; permissions; costs; added and set credits.
    const monthly = await create({ credits: { remaining: 10, refill: { amount: 6, interval: "MONTHLY", day: 31 } }, permissions: ["sms.send"] });
    expect((await verify(monthly.secret, { permissions: ["sms.admin"] })).code).toBe("INSUFFICIENT_PERMISSIONS");
    expect((await verify(monthly.secret, { cost: 3, permissions: ["sms.send"] })).credits!.remaining).toBe(7);
    await alice.request(AddCreditsDocument, { input: { id: monthly.apiKey.id, amount: 4 } });
    expect((await verify(monthly.secret, { cost: 0 })).credits!.remaining).toBe(11);
    await alice.request(AddCreditsDocument, { input: { id: monthly.apiKey.id, amount: -100 } });
    expect((await verify(monthly.secret)).code).toBe("USAGE_EXCEEDED");
    await alice.request(UpdatePoliciesDocument, { input: { id: monthly.apiKey.id, credits: { remaining: 2, refill: { amount: 6, interval: "MONTHLY", day: 31 } } } });
    expect((await verify(monthly.secret, { cost: 2 })).credits!.remaining).toBe(0);
    now = Date.parse("2026-02-28T00:00:01.000Z");
    expect((await verify(monthly.secret)).credits!.remaining).toBe(5);

    // Rate limits replaced on a key with windows; a request naming one limit at a cost.
    const limited = await create({ ratelimits: [{ name: "a", limit: 5, durationMs: 10_000 }, { name: "b", limit: 100, durationMs: 3_600_000 }] });
    expect((await verify(limited.secret, { ratelimits: [{ name: "a", cost: 4 }] })).ratelimits.find((r) => r.name === "a")!.remaining).toBe(1);
    expect((await verify(limited.secret, { ratelimits: [{ name: "a", cost: 2 }] })).code).toBe("RATE_LIMITED");
    await verify(limited.secret);
    await alice.request(UpdatePoliciesDocument, { input: { id: limited.apiKey.id, ratelimits: [{ name: "b", limit: 3, durationMs: 3_600_000 }] } });
    // The window of "b" kept its one use across the change: two more fit under the new limit of 3.
    expect((await verify(limited.secret)).ratelimits).toMatchObject([{ name: "b", limit: 3, remaining: 1 }]);
    expect((await verify(limited.secret)).ratelimits).toMatchObject([{ name: "b", remaining: 0 }]);
    expect((await verify(limited.secret)).code).toBe("RATE_LIMITED");

    // Rotation with grace: both keys spend one balance, then the old one expires.
    const rotating = await create({ credits: { remaining: 6 }, ratelimits: [{ name: "r", limit: 50, durationMs: 60_000 }] });
    await verify(rotating.secret);
    const rotated = (await alice.request(RotateKeyDocument, { input: { id: rotating.apiKey.id, gracePeriodMs: 30_000 } })).rotateApiKey;
    expect((await verify(rotating.secret)).credits!.remaining).toBe(4);
    expect((await verify(rotated.secret, { cost: 2 })).credits!.remaining).toBe(2);
    now += 31_000;
    expect((await verify(rotating.secret)).code).toBe("EXPIRED");
    expect((await verify(rotated.secret)).credits!.remaining).toBe(1);

    // Expiry set by an update, then passed; and a concurrent burst on one balance.
    const expiring = await create({ credits: { remaining: 5 } });
    burstKeyId = uuidOf(expiring.apiKey.id);
    await alice.request(UpdatePoliciesDocument, { input: { id: expiring.apiKey.id, expiresAt: new Date(now + DAY).toISOString(), meta: { tier: "gold" } } });
    const burst = await Promise.all(Array.from({ length: 12 }, () => verify(expiring.secret)));
    expect(burst.filter((a) => a.code === "VALID")).toHaveLength(5);
    now += DAY;
    expect((await verify(expiring.secret)).code).toBe("EXPIRED");

    const plain = await create({});
    expect((await verify(plain.secret)).credits).toBeNull();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("replay --verify finds no difference in any projection, key_limits included", async () => {
    expect(PROJECTION_TABLES).toContain("key_limits");
    const { rows } = await server.services.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM key_limits`);
    expect(rows[0]!.n).toBe(7);
    const { position, differences } = await verifyProjections(server.services.db);
    expect(position).toBe((await server.services.store.head()).position);
    expect(differences).toEqual([]);
  });

  it("folds the log's uses into every VALID answer's remaining credits, in order", async () => {
    const events: RecordedEvent[] = [];
    for await (const event of readLog(server.services.db)) events.push(event);
    expect(new Set(events.map((e) => e.type))).toEqual(
      new Set(["KeyCreated", "KeyUsed", "KeyDenied", "CreditsRefilled", "CreditsAdded", "KeyCreditsSet", "KeyRatelimitsSet", "KeyRotated", "KeyExpirySet", "KeyMetaSet"]),
    );
    const { afterUse, balances } = balancesFromLog(events);
    const valid = answers.filter((a) => a.code === "VALID");
    expect(afterUse).toHaveLength(valid.length);
    // Sequential answers are in log order; the one concurrent burst is compared as a set of balances.
    const byKey = (list: Array<{ keyId: string; remaining: number | null }>) => {
      const grouped = new Map<string, Array<number | null>>();
      for (const { keyId, remaining } of list) grouped.set(keyId, [...(grouped.get(keyId) ?? []), remaining]);
      return grouped;
    };
    const answered = byKey(valid);
    for (const [keyId, remaining] of byKey(afterUse)) {
      const told = answered.get(keyId)!;
      const inOrder = keyId === burstKeyId ? [...told].sort((a, b) => b! - a!) : told;
      expect(inOrder, keyId).toEqual(remaining);
    }
    // The balances folded by hand are the live ones.
    const live = await readLimits(server.services.db, [...balances.keys()]);
    for (const [keyId, balance] of balances) {
      if (live.get(keyId)?.forwardedTo) continue;
      expect(live.get(keyId)?.credits?.remaining ?? null, keyId).toBe(balance);
    }
  });

  it("an NDJSON export folds into the same key_limits as the live table, and a rebuild changes nothing", async () => {
    const path = join(dir, "log.ndjson");
    const out = createWriteStream(path);
    await exportNdjson(server.services.db, 0n, out);
    out.end();
    await finished(out);
    const state = new ReplayState();
    await foldEvents(readLogFromNdjson(path), state);
    const live = await readLimits(server.services.db, [...state.limits.keys()]);
    expect(state.limits.size).toBe(7);
    expect(new Map([...state.limits].map(([id, s]) => [id, JSON.parse(JSON.stringify(s))]))).toEqual(
      new Map([...live].map(([id, s]) => [id, JSON.parse(JSON.stringify(s))])),
    );

    const before = await server.services.db.query(`SELECT * FROM key_limits ORDER BY key_id`);
    await rebuildProjections(server.services.db);
    expect((await server.services.db.query(`SELECT * FROM key_limits ORDER BY key_id`)).rows).toEqual(before.rows);
    // A rebuilt key answers on from the replayed balance and windows.
    const key = (await alice.request(PolicyKeyDocument, { id: Buffer.from(`ApiKey:${[...state.limits.keys()][0]}`).toString("base64") })).apiKey;
    expect(key?.credits?.remaining).toBe(state.limits.get([...state.limits.keys()][0]!)!.credits!.remaining);
  });

  it.runIf(onPostgres)("the replay script's --verify exits 0 on the live database", async () => {
    const { done } = runTs("scripts/replay.ts", ["--verify"], { DATABASE_URL: server.location.databaseUrl!, LOG_LEVEL: "silent" });
    const finished = await done;
    expect(finished.code, finished.stderr).toBe(0);
    expect(JSON.parse(finished.stdout).differences).toEqual([]);
  });
});
