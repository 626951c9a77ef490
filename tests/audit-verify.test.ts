import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { CompactSign, type JSONWebKeySet } from "jose";
import { CHECKPOINT_TYP, readCheckpointsFromDatabase, signCheckpoint, type Checkpoint } from "../src/audit/checkpoints.js";
import { jwks, loadOrCreateSigningKey, type SigningKey } from "../src/audit/signing.js";
import { readLogFromDatabase, verifyDatabaseLog, verifyLog } from "../src/audit/verify-log.js";
import type { Database, SqlClient } from "../src/db/database.js";
import { EventStore } from "../src/eventstore/event-store.js";
import { readLogPage } from "../src/eventstore/log-reader.js";
import { chainHash, GENESIS_HASH } from "../src/eventstore/hash-chain.js";
import { ANY_VERSION, type RecordedEvent } from "../src/eventstore/types.js";
import { toArray } from "./support/iterables.js";
import { whileTampered } from "./support/tampering.js";
import { backendName, createTestDatabase } from "./support/databases.js";

/** What an attacker with write access would do to hide an edit: rewrite the event and re-chain everything after it. */
async function alterAndRechain(tx: SqlClient, position: bigint): Promise<void> {
  const [target] = await readLogPage(tx, position - 1n, 1);
  const [previous] = position > 1n ? await readLogPage(tx, position - 2n, 1) : [];
  let hash = previous?.hash ?? GENESIS_HASH;
  const rest = await readLogPage(tx, position - 1n, 100_000);
  for (const event of rest) {
    const data = event.position === target!.position ? { ...event.data, rewritten: true } : event.data;
    hash = chainHash(hash, { ...event, data });
    await tx.query(`UPDATE events SET data = $2::jsonb, hash = $3 WHERE position = $1`, [event.position.toString(), JSON.stringify(data), hash]);
  }
}

describe(`verifying an empty log (${backendName})`, () => {
  let db: Database;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ db, cleanup } = await createTestDatabase()));
  afterAll(() => cleanup());

  it("is ok with nothing checked, and signs no checkpoint", async () => {
    const key = await loadOrCreateSigningKey(db, {});
    expect(await signCheckpoint(db, key)).toBeNull();
    expect(await verifyDatabaseLog(db)).toEqual({
      ok: true,
      eventsChecked: "0",
      checkpointsChecked: "0",
      headHash: GENESIS_HASH,
      firstBadPosition: null,
      reason: null,
    });
  });
});

describe(`verifying a log with signed checkpoints (${backendName})`, () => {
  let db: Database;
  let cleanup: () => Promise<void>;
  let key: SigningKey;
  let trustedKeys: JSONWebKeySet;
  let events: RecordedEvent[];
  const hashAt = (position: number) => events[position - 1]!.hash;

  // 35 events: checkpoints at 10, 20 and 30, and a tail of 5 events no checkpoint covers yet.
  beforeAll(async () => {
    ({ db, cleanup } = await createTestDatabase());
    const store = new EventStore(db);
    key = await loadOrCreateSigningKey(db, {});
    const streams = [randomUUID(), randomUUID(), randomUUID()];
    const versions = new Map(streams.map((s) => [s, 0]));
    const appendOne = async (n: number) => {
      const stream = streams[n % streams.length]!;
      if (n % 4 === 3) {
        await store.append(stream, ANY_VERSION, [{ type: "KeyUsed", schemaVersion: 1, data: { n, at: new Date().toISOString() } }]);
      } else {
        await store.append(stream, versions.get(stream)!, [{ type: "Changed", schemaVersion: 1, data: { n, label: `é "${n}"` } }], {
          actorId: "alice",
        });
        versions.set(stream, versions.get(stream)! + 1);
      }
    };
    for (let n = 1; n <= 35; n++) {
      await appendOne(n);
      if (n % 10 === 0) expect(await signCheckpoint(db, key)).toMatchObject({ position: BigInt(n), kid: key.kid });
    }
    expect(await signCheckpoint(db, key)).not.toBeNull(); // at 35
    await db.query(`DELETE FROM checkpoints WHERE position = 35`); // keep an uncovered tail for the tests below
    events = await readLogPage(db, 0n, 1000);
    expect(events).toHaveLength(35);
    trustedKeys = await jwks(db); // what an auditor fetched from /.well-known/jwks.json before anything happened
  });
  afterAll(() => cleanup());

  // Every test tampers inside a rolled-back transaction: the log must verify again afterwards.
  afterEach(async () => {
    expect((await verifyDatabaseLog(db)).ok).toBe(true);
  });

  it("recomputes every link and checks every checkpoint", async () => {
    expect(await verifyDatabaseLog(db)).toEqual({
      ok: true,
      eventsChecked: "35",
      checkpointsChecked: "3",
      headHash: hashAt(35),
      firstBadPosition: null,
      reason: null,
    });
    expect(await verifyDatabaseLog(db, { pageSize: 4 })).toEqual(await verifyDatabaseLog(db));
  });

  it("signs a head only once", async () => {
    await db.query(`INSERT INTO checkpoints SELECT 35, head_hash, signed_at, kid, jws FROM checkpoints WHERE position = 30`);
    try {
      expect(await signCheckpoint(db, key)).toBeNull();
    } finally {
      await db.query(`DELETE FROM checkpoints WHERE position = 35`);
    }
  });

  it.each([
    ["data", `data = data || '{"n": 999}'::jsonb`],
    ["metadata", `metadata = '{"actorId": "mallory"}'::jsonb`],
    ["type", `type = 'Other'`],
    ["occurred_at", `occurred_at = occurred_at + interval '1 millisecond'`],
    ["stream_id", `stream_id = 'someone-else'`],
    ["hash", `hash = repeat('a', 64)`],
  ])("names the event whose %s was altered", async (_column, assignment) => {
    const result = await whileTampered(
      db,
      (tx) => tx.query(`UPDATE events SET ${assignment} WHERE position = 17`),
      (tx) => verifyDatabaseLog(tx),
    );
    expect(result).toMatchObject({ ok: false, eventsChecked: "16", headHash: hashAt(16), firstBadPosition: "17" });
    expect(result.reason).toMatch(/position 17 .*altered/);
  });

  it("finds an edit hidden by re-chaining at the next checkpoint, naming the range", async () => {
    const result = await whileTampered(db, (tx) => alterAndRechain(tx, 17n), (tx) => verifyDatabaseLog(tx));
    expect(result).toMatchObject({ ok: false, eventsChecked: "20", checkpointsChecked: "1", firstBadPosition: "20" });
    expect(result.reason).toMatch(/after position 10 up to 20/);
  });

  it("cannot see a re-chained edit after the last checkpoint until the next checkpoint covers it", async () => {
    const result = await whileTampered(db, (tx) => alterAndRechain(tx, 33n), (tx) => verifyDatabaseLog(tx));
    expect(result.ok).toBe(true);
    expect(result.headHash).not.toBe(hashAt(35));
  });

  it("names the first deleted event", async () => {
    const result = await whileTampered(
      db,
      (tx) => tx.query(`DELETE FROM events WHERE position IN (7, 8, 12)`),
      (tx) => verifyDatabaseLog(tx),
    );
    expect(result).toMatchObject({ ok: false, eventsChecked: "6", headHash: hashAt(6), firstBadPosition: "7" });
    expect(result.reason).toMatch(/position 7 is missing/);
  });

  it("finds a truncated log from a checkpoint beyond its end", async () => {
    const result = await whileTampered(db, (tx) => tx.query(`DELETE FROM events WHERE position > 25`), (tx) => verifyDatabaseLog(tx));
    expect(result).toMatchObject({ ok: false, eventsChecked: "25", firstBadPosition: "26" });
    expect(result.reason).toMatch(/ends at position 25.*checkpoint signed position 30.*truncated/);
  });

  it("finds a checkpoint whose signature was altered", async () => {
    const { rows } = await db.query<{ jws: string }>(`SELECT jws FROM checkpoints WHERE position = 20`);
    const jws = rows[0]!.jws;
    const at = jws.length - 20; // inside the signature, away from the padding bits of its last character
    const forged = jws.slice(0, at) + (jws[at] === "A" ? "B" : "A") + jws.slice(at + 1);
    const result = await whileTampered(
      db,
      (tx) => tx.query(`UPDATE checkpoints SET jws = $1 WHERE position = 20`, [forged]),
      (tx) => verifyDatabaseLog(tx),
    );
    expect(result).toMatchObject({ ok: false, checkpointsChecked: "1", firstBadPosition: "20" });
    expect(result.reason).toMatch(/position 20: signature is invalid/);
  });

  it("finds a checkpoint whose stored head hash no longer says what was signed", async () => {
    const result = await whileTampered(
      db,
      (tx) => tx.query(`UPDATE checkpoints SET head_hash = $1 WHERE position = 30`, [hashAt(29)]),
      (tx) => verifyDatabaseLog(tx),
    );
    expect(result).toMatchObject({ ok: false, checkpointsChecked: "2", firstBadPosition: "30" });
    expect(result.reason).toMatch(/position 30: stored position, head hash or time differ from what was signed/);
  });

  it("rejects checkpoints re-signed with a key the auditor never trusted", async () => {
    const attacker = await loadOrCreateSigningKey(db, {});
    const resign = async (tx: SqlClient) => {
      await alterAndRechain(tx, 17n);
      await tx.query(`DELETE FROM checkpoints WHERE position >= 20`);
      await tx.query(`DELETE FROM events WHERE position > 20`);
      await signCheckpoint(tx, attacker);
    };
    const [withDatabaseKeys, withTrustedKeys] = await whileTampered(db, resign, async (tx) => [
      await verifyDatabaseLog(tx),
      await verifyLog(readLogFromDatabase(tx), readCheckpointsFromDatabase(tx), trustedKeys),
    ]);
    // Keys from the same database an attacker controls prove nothing: that is why the JWKS is published.
    expect(withDatabaseKeys.ok).toBe(true);
    expect(withTrustedKeys).toMatchObject({ ok: false, firstBadPosition: "20" });
    expect(withTrustedKeys.reason).toMatch(/no public key with kid/);
  });

  it("rejects a signature over something that is not a checkpoint", async () => {
    const payload = { position: "20", headHash: hashAt(20), signedAt: new Date().toISOString() };
    const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: "ES256", kid: key.kid, typ: "JWT" })
      .sign(key.privateKey);
    const checkpoint: Checkpoint = { position: 20n, headHash: payload.headHash, signedAt: new Date(payload.signedAt), kid: key.kid, jws };
    const result = await verifyLog(events, [checkpoint], trustedKeys);
    expect(result).toMatchObject({ ok: false, firstBadPosition: "20" });
    expect(result.reason).toMatch(/not a checkpoint/);
    expect(CHECKPOINT_TYP).not.toBe("JWT");
  });

  it("refuses checkpoints out of position order", async () => {
    const checkpoints = await toArray(readCheckpointsFromDatabase(db));
    const result = await verifyLog(events, [checkpoints[1]!, checkpoints[0]!, checkpoints[2]!], trustedKeys);
    expect(result).toMatchObject({ ok: false, firstBadPosition: "10" });
    expect(result.reason).toMatch(/not in increasing position order/);
  });

  it("verifies a part of the log from a trusted start, and not without it", async () => {
    const checkpoints = () => readCheckpointsFromDatabase(db);
    const fromTen = await verifyLog(readLogFromDatabase(db, { after: 10n }), checkpoints(), trustedKeys, {
      start: { position: 10n, hash: hashAt(10) },
    });
    expect(fromTen).toMatchObject({ ok: true, eventsChecked: "25", checkpointsChecked: "3", headHash: hashAt(35) });
    const unanchored = await verifyLog(readLogFromDatabase(db, { after: 10n }), checkpoints(), trustedKeys);
    expect(unanchored).toMatchObject({ ok: false, eventsChecked: "0", firstBadPosition: "1" });
    const wrongAnchor = await verifyLog(readLogFromDatabase(db, { after: 10n }), checkpoints(), trustedKeys, {
      start: { position: 10n, hash: hashAt(9) },
    });
    expect(wrongAnchor).toMatchObject({ ok: false, firstBadPosition: "10" });
  });
});
