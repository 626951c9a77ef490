import { compactVerify, createLocalJWKSet, errors, type JSONWebKeySet } from "jose";
import { z } from "zod";
import type { SqlClient } from "../db/database.js";
import { readHead, readLog } from "../eventstore/log-reader.js";
import { chainHash, GENESIS_HASH } from "../eventstore/hash-chain.js";
import type { LogHead, RecordedEvent } from "../eventstore/types.js";
import { CHECKPOINT_TYP, readCheckpointsFromDatabase, type Checkpoint } from "./checkpoints.js";
import { CHECKPOINT_ALG, jwks } from "./signing.js";

export { readLogFromNdjson } from "./ndjson.js";

export interface LogVerification {
  ok: boolean;
  /** Events whose link was recomputed and matched, as a decimal string (64-bit). */
  eventsChecked: string;
  /** Checkpoints whose signature and head hash were verified. */
  checkpointsChecked: string;
  /** The chain hash after the last event that verified (the genesis or start hash when none did). */
  headHash: string;
  /**
   * Where verification first failed: an altered event's position, a missing event's position,
   * a bad checkpoint's position, or for a truncated log the first position after its end.
   */
  firstBadPosition: string | null;
  reason: string | null;
}

export interface VerifyOptions {
  /**
   * Where the verified part of the log starts: the position and chain hash just before its first
   * event. Default: the genesis (position 0). Needed to verify an export made with `--after P`.
   */
  start?: LogHead;
}

const payloadSchema = z.object({ position: z.string(), headHash: z.string(), signedAt: z.string() });

class VerificationFailure extends Error {
  constructor(
    readonly position: bigint,
    reason: string,
  ) {
    super(reason);
  }
}

/**
 * Recomputes every link of the chain from `source` (events in position order) and checks every
 * checkpoint (in position order) against its signature and the recomputed hash at its position.
 * Stops at the first failure. Memory stays flat: both inputs are streamed.
 */
export async function verifyLog(
  source: AsyncIterable<RecordedEvent> | Iterable<RecordedEvent>,
  checkpoints: AsyncIterable<Checkpoint> | Iterable<Checkpoint>,
  publicKeys: JSONWebKeySet,
  options: VerifyOptions = {},
): Promise<LogVerification> {
  const start = options.start ?? { position: 0n, hash: GENESIS_HASH };
  const keys = createLocalJWKSet(publicKeys);
  const pending = peekable(checkpoints);
  let position = start.position;
  let hash = start.hash;
  let eventsChecked = 0n;
  let checkpointsChecked = 0n;
  let lastMatchedCheckpoint = start.position;
  let previousCheckpoint: bigint | undefined;

  const result = (failure?: VerificationFailure): LogVerification => ({
    ok: !failure,
    eventsChecked: eventsChecked.toString(),
    checkpointsChecked: checkpointsChecked.toString(),
    headHash: hash,
    firstBadPosition: failure ? failure.position.toString() : null,
    reason: failure ? failure.message : null,
  });

  /** Every checkpoint at or before the verified head must sign exactly the head's hash at its position. */
  const settleCheckpoints = async (): Promise<void> => {
    for (let next = await pending.peek(); next && next.position <= position; next = await pending.peek()) {
      await pending.take();
      if (previousCheckpoint !== undefined && next.position <= previousCheckpoint) {
        throw new VerificationFailure(next.position, `checkpoints are not in increasing position order at ${next.position}`);
      }
      previousCheckpoint = next.position;
      if (next.position < start.position) continue; // before the part being verified
      const signed = await verifyCheckpointSignature(next, keys);
      if (signed.headHash !== hash) {
        throw new VerificationFailure(
          next.position,
          `checkpoint at position ${next.position} signed head hash ${signed.headHash}, but the log gives ${hash}: ` +
            `events after position ${lastMatchedCheckpoint} up to ${next.position} were altered, removed or re-chained`,
        );
      }
      lastMatchedCheckpoint = next.position;
      checkpointsChecked++;
    }
  };

  try {
    for await (const event of source) {
      await settleCheckpoints();
      const expected = position + 1n;
      if (event.position > expected) {
        throw new VerificationFailure(expected, `event at position ${expected} is missing (the next event is at ${event.position})`);
      }
      if (event.position < expected) {
        throw new VerificationFailure(event.position, `position ${event.position} appears again or out of order after ${position}`);
      }
      const recomputed = chainHash(hash, event);
      if (recomputed !== event.hash) {
        throw new VerificationFailure(
          event.position,
          `event at position ${event.position} does not match its chain hash: its content or hash was altered`,
        );
      }
      position = event.position;
      hash = recomputed;
      eventsChecked++;
    }
    await settleCheckpoints();
    const beyond = await pending.peek();
    if (beyond) {
      await verifyCheckpointSignature(beyond, keys);
      throw new VerificationFailure(
        position + 1n,
        `the log ends at position ${position}, but a valid checkpoint signed position ${beyond.position}: the log was truncated`,
      );
    }
    return result();
  } catch (error) {
    if (error instanceof VerificationFailure) return result(error);
    throw error;
  } finally {
    await pending.close();
  }
}

/** Checks the JWS and that the stored row says what was signed; returns the signed payload. */
async function verifyCheckpointSignature(
  checkpoint: Checkpoint,
  keys: ReturnType<typeof createLocalJWKSet>,
): Promise<z.infer<typeof payloadSchema>> {
  const at = checkpoint.position;
  const fail = (why: string) => new VerificationFailure(at, `checkpoint at position ${at}: ${why}`);
  let verified: Awaited<ReturnType<typeof compactVerify>>;
  try {
    verified = await compactVerify(checkpoint.jws, keys, { algorithms: [CHECKPOINT_ALG] });
  } catch (error) {
    if (error instanceof errors.JWKSNoMatchingKey) throw fail(`no public key with kid ${JSON.stringify(checkpoint.kid)}`);
    if (error instanceof errors.JWSSignatureVerificationFailed) throw fail("signature is invalid");
    throw fail(`malformed signature (${(error as Error).message})`);
  }
  const header = verified.protectedHeader;
  if (header.typ !== CHECKPOINT_TYP) throw fail(`signed object is not a checkpoint (typ ${JSON.stringify(header.typ)})`);
  if (header.kid !== checkpoint.kid) throw fail(`signed with kid ${JSON.stringify(header.kid)}, stored with kid ${JSON.stringify(checkpoint.kid)}`);
  let payload: z.infer<typeof payloadSchema>;
  try {
    payload = payloadSchema.parse(JSON.parse(new TextDecoder().decode(verified.payload)));
  } catch {
    throw fail("signed payload is not a checkpoint payload");
  }
  if (
    payload.position !== checkpoint.position.toString() ||
    payload.headHash !== checkpoint.headHash ||
    payload.signedAt !== checkpoint.signedAt.toISOString()
  ) {
    throw fail("stored position, head hash or time differ from what was signed");
  }
  return payload;
}

interface Peekable<T> {
  peek(): Promise<T | undefined>;
  take(): Promise<T | undefined>;
  /** Lets a source that was not read to its end release what it holds (a file, a cursor). */
  close(): Promise<void>;
}

function peekable<T>(items: AsyncIterable<T> | Iterable<T>): Peekable<T> {
  const iterator: AsyncIterator<T> | Iterator<T> =
    Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : (items as Iterable<T>)[Symbol.iterator]();
  let buffered: { value: T | undefined } | undefined;
  const peek = async () => {
    if (!buffered) {
      const next = await iterator.next();
      buffered = { value: next.done ? undefined : next.value };
    }
    return buffered.value;
  };
  return {
    peek,
    async take() {
      const value = await peek();
      if (value !== undefined) buffered = undefined;
      return value;
    },
    async close() {
      await iterator.return?.();
    },
  };
}

/** The log in position order, read in pages so memory stays flat however long it is. */
export { readLog as readLogFromDatabase };

/**
 * Verifies the database's whole log against its checkpoints and registered keys. The last
 * checkpoint is fixed before the head is read, so a checkpoint signed while this runs is never
 * mistaken for truncation, and the events are read up to that head only.
 */
export async function verifyDatabaseLog(db: SqlClient, options: { pageSize?: number } = {}): Promise<LogVerification> {
  const { rows } = await db.query<{ position: string | null }>(`SELECT max(position)::text AS position FROM checkpoints`);
  const lastCheckpoint = rows[0]?.position ? BigInt(rows[0].position) : 0n;
  const head = await readHead(db);
  return verifyLog(
    readLog(db, { upTo: head.position, pageSize: options.pageSize }),
    readCheckpointsFromDatabase(db, { upTo: lastCheckpoint, pageSize: options.pageSize }),
    await jwks(db),
  );
}
