import { beforeAll, describe, expect, it } from "vitest";
import type { GraphQLClient } from "graphql-request";
import { CreateKeyDocument, VerifyDocument, VerifyLogDocument } from "./generated/graphql.js";
import { clientFor, expectCode, tokenFor } from "./support/clients.js";
import { backendName } from "./support/databases.js";
import { useTestServer } from "./support/server.js";

describe(`audit over HTTP and GraphQL (${backendName})`, () => {
  const server = useTestServer({ CHECKPOINT_INTERVAL_MS: "100" });
  let alice: GraphQLClient;
  let auditor: GraphQLClient;
  let base: string;
  const keyIds: string[] = [];

  beforeAll(async () => {
    base = server.url.replace("/graphql", "");
    alice = await clientFor(server.url, "alice");
    auditor = await clientFor(server.url, "audit", ["auditor"]);
    const gateway = await clientFor(server.url, "gw", ["gateway"]);
    for (const owner of [alice, await clientFor(server.url, "bob")]) {
      const { secret, apiKey } = (await owner.request(CreateKeyDocument, { input: { service: "SMS", name: "k" } })).createApiKey;
      keyIds.push(Buffer.from(apiKey.id, "base64").toString().split(":")[1]!);
      await gateway.request(VerifyDocument, { input: { key: secret, service: "SMS" } });
    }
    await server.services.checkpointer.runOnce();
  });

  it("signs checkpoints of the chain head at intervals", async () => {
    await alice.request(CreateKeyDocument, { input: { service: "EMAIL", name: "late" } });
    const head = (await server.services.store.head()).position.toString();
    await expect
      .poll(async () => (await server.services.db.query<{ p: string }>(`SELECT max(position)::text AS p FROM checkpoints`)).rows[0]?.p, { timeout: 5_000 })
      .toBe(head);
  });

  it("verifies the chain and the signed checkpoints for auditors only", async () => {
    const { verifyLog } = await auditor.request(VerifyLogDocument);
    expect(verifyLog).toMatchObject({ ok: true, eventsChecked: "5", firstBadPosition: null, reason: null });
    expect(Number(verifyLog.checkpointsChecked)).toBeGreaterThan(0);
    await expectCode(alice.request(VerifyLogDocument), "FORBIDDEN");
  });

  it("publishes the checkpoint keys as JWKS", async () => {
    const response = await fetch(`${base}/.well-known/jwks.json`);
    expect(response.status).toBe(200);
    const { keys } = (await response.json()) as { keys: Array<{ kid: string; kty: string; d?: string }> };
    const { rows } = await server.services.db.query<{ kid: string }>(`SELECT DISTINCT kid FROM checkpoints`);
    for (const { kid } of rows) expect(keys.map((k) => k.kid)).toContain(kid);
    expect(keys.every((k) => k.kty === "EC" && k.d === undefined)).toBe(true);
  });

  it("streams the log as NDJSON: everything for auditors, their own keys' events for owners", async () => {
    const get = async (token: string | undefined, query = "") =>
      fetch(`${base}/events.ndjson${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    const all = await get(await tokenFor("audit", ["auditor"]));
    expect(all.headers.get("content-type")).toContain("application/x-ndjson");
    const lines = (await all.text()).trim().split("\n").map((l) => JSON.parse(l) as { position: string; streamId: string });
    expect(lines.map((l) => l.position)).toEqual(["1", "2", "3", "4", "5"]);
    const after = (await (await get(await tokenFor("audit", ["auditor"]), "?after=2")).text()).trim().split("\n");
    expect(after.map((l) => JSON.parse(l).position)).toEqual(["3", "4", "5"]);
    const mine = (await (await get(await tokenFor("alice"))).text()).trim().split("\n").map((l) => JSON.parse(l).streamId);
    expect(mine).toContain(keyIds[0]);
    expect(mine).not.toContain(keyIds[1]);
    expect((await get(undefined)).status).toBe(401);
    expect((await get(await tokenFor("gw", ["gateway"]))).status).toBe(403);
    expect((await get(await tokenFor("audit", ["auditor"]), "?after=abc")).status).toBe(400);
  });

  it("names the first position where the stored log was altered, then where an event was deleted", async () => {
    await server.services.checkpointer.stop();
    const db = server.services.db;
    await db.query(`UPDATE events SET data = jsonb_set(data, '{name}', '"forged"') WHERE position = 3`);
    const altered = (await auditor.request(VerifyLogDocument)).verifyLog;
    expect(altered).toMatchObject({ ok: false, firstBadPosition: "3" });
    await db.query(`DELETE FROM events WHERE position = 2`);
    const deleted = (await auditor.request(VerifyLogDocument)).verifyLog;
    expect(deleted).toMatchObject({ ok: false, firstBadPosition: "2" });
    expect(deleted.reason).toBeTruthy();
  });
});
