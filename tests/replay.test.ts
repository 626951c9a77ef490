import { beforeAll, describe, expect, it } from "vitest";
import type { GraphQLClient } from "graphql-request";
import { openAt } from "./support/databases.js";
import { rebuildProjections, verifyProjections } from "../src/projections/rebuild.js";
import { CreateKeyDocument, RevokeKeyDocument, SetStatusDocument, UpdateKeyDocument, VerifyDocument } from "./generated/graphql.js";
import { clientFor } from "./support/clients.js";
import { backendName, onPostgres } from "./support/databases.js";
import { useTestServer } from "./support/server.js";

describe(`replay and rebuild (${backendName})`, () => {
  const server = useTestServer();
  let alice: GraphQLClient;
  let gateway: GraphQLClient;

  beforeAll(async () => {
    alice = await clientFor(server.url, "alice");
    gateway = await clientFor(server.url, "gw", ["gateway"]);
    for (let k = 0; k < 6; k++) {
      const { secret, apiKey } = (await alice.request(CreateKeyDocument, { input: { service: k % 2 ? "SMS" : "EMAIL", name: `key ${k}` } })).createApiKey;
      for (let u = 0; u < k; u++) await gateway.request(VerifyDocument, { input: { key: secret, service: k % 2 ? "SMS" : "EMAIL" } });
      if (k === 2) await alice.request(SetStatusDocument, { input: { id: apiKey.id, status: "INACTIVE" } });
      if (k === 3) await alice.request(UpdateKeyDocument, { input: { id: apiKey.id, name: "renamed", description: "d" } });
      if (k === 4) await alice.request(RevokeKeyDocument, { input: { id: apiKey.id, reason: "r" } });
    }
  });

  it("rebuilds every projection from the log alone into exactly the live rows", async () => {
    const { position, differences } = await verifyProjections(server.services.db);
    expect(position).toBe((await server.services.store.head()).position);
    expect(differences).toEqual([]);
  });

  it("names the rows where a live table disagrees with the log", async () => {
    const db = server.services.db;
    await db.query(`UPDATE api_keys SET name = 'tampered' WHERE name = 'key 0'`);
    await db.query(`UPDATE key_usage SET count = count + 1 WHERE ctid = (SELECT ctid FROM key_usage LIMIT 1)`);
    const { differences } = await verifyProjections(db);
    expect(differences.map((d) => d.table).sort()).toEqual(["api_keys", "key_usage"]);
    const keys = differences.find((d) => d.table === "api_keys")!;
    expect(keys.onlyLive.map((r) => r.name)).toEqual(["tampered"]);
    expect(keys.onlyReplayed.map((r) => r.name)).toEqual(["key 0"]);
  });

  it("replaces the live projections from the log, after which they agree again", async () => {
    const db = server.services.db;
    await db.query(`DELETE FROM api_keys WHERE name = 'key 5'`);
    await rebuildProjections(db);
    expect((await verifyProjections(db)).differences).toEqual([]);
    const { rows } = await db.query<{ name: string }>(`SELECT name FROM api_keys ORDER BY created_position`);
    expect(rows.map((r) => r.name)).toEqual(["key 0", "key 1", "key 2", "renamed", "key 4", "key 5"]);
  });

  it.runIf(onPostgres)("never shows readers an empty or half-built table while it rebuilds", async () => {
    const reader = await openAt(server.location, 2);
    const counts: number[] = [];
    let rebuilding = true;
    const reading = (async () => {
      while (rebuilding) {
        const { rows } = await reader.query<{ n: number }>(`SELECT count(*)::int AS n FROM api_keys`);
        counts.push(rows[0]!.n);
      }
    })();
    for (let i = 0; i < 5; i++) await rebuildProjections(server.services.db);
    rebuilding = false;
    await reading;
    await reader.close();
    expect(counts.length).toBeGreaterThan(5);
    expect(new Set(counts)).toEqual(new Set([6]));
  });
});
