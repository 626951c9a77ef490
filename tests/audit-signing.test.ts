import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from "jose";
import { Checkpointer, signCheckpoint, type Checkpoint } from "../src/audit/checkpoints.js";
import { jwks, loadOrCreateSigningKey, SigningKeyError } from "../src/audit/signing.js";
import { verifyDatabaseLog } from "../src/audit/verify-log.js";
import type { Database, SqlClient } from "../src/db/database.js";
import { EventStore } from "../src/eventstore/event-store.js";
import { ANY_VERSION } from "../src/eventstore/types.js";
import { backendName, createTestDatabase } from "./support/databases.js";

async function privateJwk(crv: "P-256" | "P-384" = "P-256"): Promise<JWK> {
  const { privateKey } = await generateKeyPair(crv === "P-256" ? "ES256" : "ES384", { extractable: true });
  return exportJWK(privateKey);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe(`checkpoint signing keys and the checkpointer (${backendName})`, () => {
  let db: Database;
  let store: EventStore;
  let cleanup: () => Promise<void>;
  const appendSome = (n = 1) =>
    store.append(randomUUID(), ANY_VERSION, Array.from({ length: n }, (_, i) => ({ type: "KeyUsed", schemaVersion: 1, data: { i } })));
  const checkpointPositions = async () =>
    (await db.query<{ position: string }>(`SELECT position::text AS position FROM checkpoints ORDER BY checkpoints.position`)).rows.map((r) => r.position);

  beforeAll(async () => {
    ({ db, cleanup } = await createTestDatabase());
    store = new EventStore(db);
  });
  afterAll(() => cleanup());

  it("gives every process without configuration a key of its own and publishes only public halves", async () => {
    const first = await loadOrCreateSigningKey(db, {});
    const second = await loadOrCreateSigningKey(db, {});
    expect(first.kid).not.toBe(second.kid);
    expect(first.kid).toBe(await calculateJwkThumbprint(first.publicJwk));

    await appendSome();
    expect(await signCheckpoint(db, first)).not.toBeNull();
    await appendSome();
    expect(await signCheckpoint(db, second)).not.toBeNull();
    expect(await verifyDatabaseLog(db)).toMatchObject({ ok: true, checkpointsChecked: "2" });

    const published = await jwks(db);
    const kids = published.keys.map((k) => k.kid);
    expect(kids).toEqual(expect.arrayContaining([first.kid, second.kid]));
    for (const jwk of published.keys) expect(Object.keys(jwk).sort()).toEqual(["alg", "crv", "kid", "kty", "use", "x", "y"]);
    const { rows } = await db.query<{ has_private: boolean }>(`SELECT bool_or(public_jwk ? 'd') AS has_private FROM signing_keys`);
    expect(rows[0]!.has_private).toBe(false);
  });

  it("uses CHECKPOINT_SIGNING_JWK when set, under the same kid on every start", async () => {
    const jwk = await privateJwk();
    const env = { CHECKPOINT_SIGNING_JWK: JSON.stringify(jwk) };
    const once = await loadOrCreateSigningKey(db, env);
    const again = await loadOrCreateSigningKey(db, env);
    expect(again.kid).toBe(once.kid);
    expect(once.publicJwk).toEqual({ kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y });

    const named = await loadOrCreateSigningKey(db, { CHECKPOINT_SIGNING_JWK: JSON.stringify({ ...jwk, kid: "prod-2026" }) });
    expect(named.kid).toBe("prod-2026");
    await appendSome();
    const checkpoint = await signCheckpoint(db, named);
    expect(checkpoint?.kid).toBe("prod-2026");
    expect(await verifyDatabaseLog(db)).toMatchObject({ ok: true });

    const other = await privateJwk();
    await expect(loadOrCreateSigningKey(db, { CHECKPOINT_SIGNING_JWK: JSON.stringify({ ...other, kid: "prod-2026" }) })).rejects.toThrow(
      /already registered for a different public key/,
    );
  });

  it("refuses a configured key that cannot sign verifiable checkpoints", async () => {
    const load = (value: string) => loadOrCreateSigningKey(db, { CHECKPOINT_SIGNING_JWK: value });
    await expect(load("{not json")).rejects.toThrow(SigningKeyError);
    await expect(load(JSON.stringify(await privateJwk("P-384")))).rejects.toThrow(/P-256/);
    const { d: _private, ...publicOnly } = await privateJwk();
    await expect(load(JSON.stringify(publicOnly))).rejects.toThrow(/d:/);
    const mine = await privateJwk();
    const someoneElses = await privateJwk();
    await expect(load(JSON.stringify({ ...mine, x: someoneElses.x, y: someoneElses.y }))).rejects.toThrow(SigningKeyError);
  });

  it("lets one of several processes signing the same head win", async () => {
    const [a, b] = await Promise.all([loadOrCreateSigningKey(db, {}), loadOrCreateSigningKey(db, {})]);
    await appendSome();
    const results = await Promise.all([signCheckpoint(db, a), signCheckpoint(db, b), signCheckpoint(db, a)]);
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect((await store.head()).position.toString()).toBe((await checkpointPositions()).at(-1));
  });

  it("signs new heads at intervals and stops cleanly", async () => {
    const key = await loadOrCreateSigningKey(db, {});
    const signed: Checkpoint[] = [];
    const errors: unknown[] = [];
    const checkpointer = new Checkpointer(db, key, { onError: (e) => errors.push(e), onCheckpoint: (c) => signed.push(c) });
    checkpointer.start(10);
    await appendSome(3);
    const head = await store.head();
    await expect.poll(() => signed.map((c) => c.position), { timeout: 5_000 }).toContain(head.position);
    await appendSome();
    const next = await store.head();
    await expect.poll(() => signed.map((c) => c.position), { timeout: 5_000 }).toContain(next.position);
    await checkpointer.stop();

    await appendSome();
    await sleep(80);
    expect((await checkpointPositions()).at(-1)).toBe(next.position.toString());
    expect(errors).toEqual([]);
    expect(() => checkpointer.start(0)).toThrow(RangeError);
  });

  it("never overlaps runs, even when the database is slower than the interval", async () => {
    const key = await loadOrCreateSigningKey(db, {});
    let inFlight = 0;
    let maxInFlight = 0;
    let queries = 0;
    const slow: SqlClient = {
      async query(text, params) {
        inFlight++;
        queries++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          await sleep(15);
          return await db.query(text, params);
        } finally {
          inFlight--;
        }
      },
      exec: (script) => db.exec(script),
    };
    const errors: unknown[] = [];
    const checkpointer = new Checkpointer(slow, key, { onError: (e) => errors.push(e) });
    checkpointer.start(1);
    await Promise.all([checkpointer.runOnce(), checkpointer.runOnce(), checkpointer.runOnce()]);
    await sleep(150);
    await checkpointer.stop();
    expect(queries).toBeGreaterThan(4);
    expect(maxInFlight).toBe(1);
    expect(errors).toEqual([]);
  });

  it("reports failures to its callback and keeps going", async () => {
    const key = await loadOrCreateSigningKey(db, {});
    const failing: SqlClient = {
      query: () => Promise.reject(new Error("database down")),
      exec: () => Promise.reject(new Error("database down")),
    };
    const errors: unknown[] = [];
    const checkpointer = new Checkpointer(failing, key, {
      onError: (e) => {
        errors.push(e);
        throw new Error("a broken reporter must not escape either");
      },
    });
    checkpointer.start(5);
    await expect.poll(() => errors.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(3);
    await checkpointer.stop();
    expect(errors.every((e) => (e as Error).message === "database down")).toBe(true);
    await expect(checkpointer.runOnce()).resolves.toBeNull();
  });
});
