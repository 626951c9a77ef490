import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { displayParts, formatKey, hashKey } from "../src/domain/key-format.js";
import { SERVICES, type KeyStatus } from "../src/domain/services.js";
import { ANY_VERSION, type AppendRequest, type RecordedEvent } from "../src/eventstore/types.js";
import type { ApiKey } from "../src/projections/api-keys/row.js";
import { ReplayState } from "../src/projections/replay.js";
import { keysAsOf, type AsOf, type KeyTableFilter } from "../src/projections/time-travel.js";
import type { RunningServer } from "../src/server/app.js";
import { KeysAsOfDocument } from "./generated/graphql.js";
import { clientFor, expectCode } from "./support/clients.js";
import { backendName, createTestLocation, type TestDatabaseLocation } from "./support/databases.js";
import { startTestServer } from "./support/server.js";

const OWNERS = 40;
const KEYS_PER_OWNER = 4;
const BATCHES = 30;
const T0 = Date.parse("2026-03-07T12:00:00.000Z");

interface Key {
  id: string;
  ownerId: string;
  service: (typeof SERVICES)[number];
  version: number;
  status: KeyStatus;
}

/** A log of many owners' keys: creates, then batches of uses mixed with toggles, renames and revocations. */
async function generate(server: RunningServer): Promise<void> {
  const store = server.services.store;
  const keys: Key[] = [];
  const meta = { actorId: "test", actorRole: "owner" };
  const creates: AppendRequest[] = [];
  for (let i = 0; i < OWNERS * KEYS_PER_OWNER; i++) {
    const service = SERVICES[i % SERVICES.length]!;
    const secret = formatKey(service, randomBytes(32));
    const key: Key = { id: randomUUID(), ownerId: `owner-${i % OWNERS}`, service, version: 1, status: "ACTIVE" };
    keys.push(key);
    creates.push({
      streamId: key.id,
      expectedVersion: 0,
      metadata: meta,
      events: [
        {
          type: "KeyCreated",
          schemaVersion: 1,
          occurredAt: new Date(T0),
          data: { keyId: key.id, ownerId: key.ownerId, service, name: `key ${i}`, description: null, keyHash: hashKey(secret), display: displayParts(secret) },
        },
      ],
    });
  }
  await store.appendMany(creates);
  for (let b = 1; b <= BATCHES; b++) {
    const at = new Date(T0 + b * 60_000 + (b % 7) * 1_000);
    const requests: AppendRequest[] = [];
    for (let d = 0; d < 6; d++) {
      const key = keys[(b * 7 + d * 13) % keys.length]!;
      if (key.status === "REVOKED" || requests.some((r) => r.streamId === key.id)) continue;
      const choice = (b + d) % 4;
      const event =
        choice === 0
          ? { type: "KeyRevoked", data: { keyId: key.id, from: key.status, reason: `batch ${b}` } }
          : choice === 1
            ? { type: "KeyUpdated", data: { keyId: key.id, name: { from: "?", to: `renamed ${b}` } } }
            : { type: "KeyToggled", data: { keyId: key.id, from: key.status, to: key.status === "ACTIVE" ? "INACTIVE" : "ACTIVE" } };
      requests.push({ streamId: key.id, expectedVersion: key.version, metadata: meta, events: [{ ...event, schemaVersion: 1, occurredAt: at }] });
      key.version++;
      key.status = choice === 0 ? "REVOKED" : choice === 1 ? key.status : key.status === "ACTIVE" ? "INACTIVE" : "ACTIVE";
    }
    for (let u = 0; u < 60; u++) {
      const key = keys[(u * u + b) % keys.length]!;
      // Uses are positioned out of time order within a batch, as uses from several gateways are.
      const usedAt = new Date(at.getTime() + ((u * 37) % 60) * 250);
      requests.push({
        streamId: key.id,
        expectedVersion: ANY_VERSION,
        metadata: { actorId: "gw", actorRole: "gateway" },
        events: [{ type: "KeyUsed", schemaVersion: 1, occurredAt: usedAt, data: { keyId: key.id, service: key.service, usedAt: usedAt.toISOString(), gatewayId: "gw" } }],
      });
    }
    await store.appendMany(requests);
  }
}

/** The reference: the whole log up to `upTo` folded the way a replay does, then filtered and ordered. */
function foldedTable(log: RecordedEvent[], upTo: bigint, filter: KeyTableFilter): ApiKey[] {
  const state = new ReplayState();
  for (const event of log) if (event.position <= upTo) state.apply(event);
  return state
    .keyRows()
    .filter((key) => (!filter.ownerId || key.ownerId === filter.ownerId) && (!filter.service || key.service === filter.service))
    .filter((key) => filter.statuses.includes(key.status))
    .sort((a, b) => Number(b.createdPosition - a.createdPosition));
}

describe(`time travel among many owners' events (${backendName})`, () => {
  let location: TestDatabaseLocation;
  let server: RunningServer;
  let log: RecordedEvent[];

  beforeAll(async () => {
    location = await createTestLocation();
    server = await startTestServer(location);
    await generate(server);
    log = await server.services.store.readAll(0n, 100_000);
  }, 120_000);
  afterAll(async () => {
    await server.stop();
    await location.drop();
  });

  it("returns, at every point, the table a full fold of the log up to that point gives", async () => {
    const head = log.at(-1)!.position;
    expect(head).toBeGreaterThan(1_500n);
    const filters: KeyTableFilter[] = [
      { ownerId: "owner-7", statuses: ["ACTIVE", "INACTIVE"] },
      { ownerId: "owner-7", statuses: ["REVOKED"] },
      { ownerId: "owner-12", service: "SMS", statuses: ["ACTIVE", "INACTIVE"] },
      { statuses: ["ACTIVE", "INACTIVE"] },
      { service: "EMAIL", statuses: ["REVOKED"] },
    ];
    const points = [1n, 100n, 161n, head / 3n, head / 2n, head - 7n, head, head + 1_000n];
    let nonEmpty = 0;
    for (const upTo of points) {
      for (const filter of filters) {
        const expected = foldedTable(log, upTo, filter);
        if (expected.some((key) => key.usageCount > 0n)) nonEmpty++;
        expect(await keysAsOf(server.services.db, { position: upTo }, filter)).toEqual(expected);
      }
    }
    expect(nonEmpty).toBeGreaterThan(10);
  });

  it("finds the last position that occurred by a time, however the log is ordered around it", async () => {
    const filter: KeyTableFilter = { statuses: ["ACTIVE", "INACTIVE", "REVOKED"] };
    const times = [T0 - 1, T0, T0 + 5 * 60_000 + 3_500, T0 + 17 * 60_000 + 9_999, T0 + 25 * 60_000 + 11_111, T0 + (BATCHES + 1) * 60_000, Date.parse("0001-01-01T00:00:00Z")];
    for (const time of times) {
      const upTo = log.filter((e) => e.occurredAt.getTime() <= time).reduce((max, e) => (e.position > max ? e.position : max), 0n);
      const asOf: AsOf = { time: new Date(time) };
      expect(await keysAsOf(server.services.db, asOf, filter)).toEqual(foldedTable(log, upTo, filter));
    }
  });

  it("answers an owner over GraphQL with only their keys as they were", async () => {
    const owner = await clientFor(server.url, "owner-3");
    const upTo = log[Math.floor(log.length / 2)]!.position;
    const expected = foldedTable(log, upTo, { ownerId: "owner-3", statuses: ["ACTIVE", "INACTIVE"] });
    const { apiKeys } = await owner.request(KeysAsOfDocument, { asOf: upTo.toString(), first: 100 });
    expect(apiKeys.totalCount).toBe(expected.length);
    expect(apiKeys.edges.map((e) => [e.node.name, e.node.status, e.node.version, e.node.usageCount, e.node.lastUsedAt])).toEqual(
      expected.map((k) => [k.name, k.status, k.version, Number(k.usageCount), k.lastUsedAt?.toISOString() ?? null]),
    );
  });

  it("accepts asOf only as a log position or an RFC 3339 timestamp", async () => {
    const owner = await clientFor(server.url, "owner-3");
    for (const asOf of ["-1", "1.5", "March 7", "12/25/2020", "+275760-09-13T00:00:00.000Z", "-271821-04-20T00:00:00.000Z", "275760-09-13T00:00:00Z",
      "2026-03-07", "2026-03-07T12:00Z", "2026-02-30T00:00:00Z", "2026-03-07T12:00:00+0100", "1e3", " 12", "0x10", "12345678901234567890", "now", ""]) {
      await expectCode(owner.request(KeysAsOfDocument, { asOf }), "BAD_USER_INPUT", "asOf");
    }
    const atTime = (asOf: string) => owner.request(KeysAsOfDocument, { asOf, first: 100 }).then((r) => r.apiKeys.totalCount);
    const later = new Date(T0 + (BATCHES + 1) * 60_000);
    const expected = foldedTable(log, log.at(-1)!.position, { ownerId: "owner-3", statuses: ["ACTIVE", "INACTIVE"] }).length;
    expect(await atTime(later.toISOString())).toBe(expected);
    expect(await atTime(later.toISOString().toLowerCase())).toBe(expected);
    expect(await atTime("2026-03-07T13:31:00.000001+01:00")).toBe(expected);
    expect(await atTime("9999999999999999999")).toBe(expected);
    expect(await atTime("0000-01-01T00:00:00Z")).toBe(0);
    expect(await atTime("0")).toBe(0);
  });
});
