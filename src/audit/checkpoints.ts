import { CompactSign } from "jose";
import type { SqlClient } from "../db/database.js";
import { LOG_PAGE_SIZE, readHead } from "../eventstore/log-reader.js";
import { CHECKPOINT_ALG, type SigningKey } from "./signing.js";

/** Distinguishes checkpoint signatures from any other JWS the same key might ever produce. */
export const CHECKPOINT_TYP = "keyledger-checkpoint";

/** A signed statement "the chain's hash at `position` is `headHash`", as stored in `checkpoints`. */
export interface Checkpoint {
  position: bigint;
  headHash: string;
  signedAt: Date;
  kid: string;
  /** Compact JWS over {@link CheckpointPayload}; the only part an auditor needs to trust. */
  jws: string;
}

export interface CheckpointPayload {
  position: string;
  headHash: string;
  signedAt: string;
}

/**
 * Signs the chain's current head unless the log is empty or the head already has a checkpoint.
 * Several processes may race for the same head: the first insert wins, the others return null.
 */
export async function signCheckpoint(db: SqlClient, key: SigningKey, clock: () => Date = () => new Date()): Promise<Checkpoint | null> {
  const head = await readHead(db);
  if (head.position === 0n) return null;
  const { rows: existing } = await db.query(`SELECT 1 FROM checkpoints WHERE position = $1`, [head.position.toString()]);
  if (existing.length > 0) return null;

  const signedAt = clock();
  const payload: CheckpointPayload = { position: head.position.toString(), headHash: head.hash, signedAt: signedAt.toISOString() };
  const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: CHECKPOINT_ALG, kid: key.kid, typ: CHECKPOINT_TYP })
    .sign(key.privateKey);
  const { rows } = await db.query(
    `INSERT INTO checkpoints (position, head_hash, signed_at, kid, jws) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (position) DO NOTHING RETURNING position`,
    [payload.position, head.hash, payload.signedAt, key.kid, jws],
  );
  return rows.length > 0 ? { position: head.position, headHash: head.hash, signedAt, kid: key.kid, jws } : null;
}

interface CheckpointRow {
  [key: string]: unknown;
  position: string;
  head_hash: string;
  signed_at: Date | string;
  kid: string;
  jws: string;
}

/** Checkpoints in position order, up to `upTo` when given, paged so memory stays flat. */
export async function* readCheckpointsFromDatabase(
  db: SqlClient,
  options: { upTo?: bigint; pageSize?: number } = {},
): AsyncGenerator<Checkpoint> {
  const pageSize = options.pageSize ?? LOG_PAGE_SIZE;
  let after = -1n;
  for (;;) {
    const { rows } = await db.query<CheckpointRow>(
      `SELECT position::text AS position, head_hash, signed_at, kid, jws FROM checkpoints
        WHERE checkpoints.position > $1 AND ($2::bigint IS NULL OR checkpoints.position <= $2)
        ORDER BY checkpoints.position LIMIT $3`,
      [after.toString(), options.upTo?.toString() ?? null, pageSize],
    );
    for (const row of rows) yield toCheckpoint(row);
    if (rows.length < pageSize) return;
    after = BigInt(rows.at(-1)!.position);
  }
}

function toCheckpoint(row: CheckpointRow): Checkpoint {
  return {
    position: BigInt(row.position),
    headHash: row.head_hash,
    signedAt: row.signed_at instanceof Date ? row.signed_at : new Date(row.signed_at),
    kid: row.kid,
    jws: row.jws,
  };
}

export interface CheckpointerOptions {
  /** Called with every failed run; a run never throws. */
  onError: (error: unknown) => void;
  onCheckpoint?: (checkpoint: Checkpoint) => void;
  clock?: () => Date;
}

/** Signs the head every `intervalMs` while started. Runs never overlap; the timer does not keep the process alive. */
export class Checkpointer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<Checkpoint | null> | undefined;
  private started = false;
  /** Bumped by start and stop, so a run finishing after a restart does not schedule a second timer. */
  private generation = 0;

  constructor(
    private readonly db: SqlClient,
    private readonly key: SigningKey,
    private readonly options: CheckpointerOptions,
  ) {}

  start(intervalMs: number): void {
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw new RangeError(`intervalMs must be > 0, got ${intervalMs}`);
    if (this.started) return;
    this.started = true;
    this.schedule(intervalMs, ++this.generation);
  }

  /** Signs now, or joins the run already in flight. Resolves with the new checkpoint, or null. */
  runOnce(): Promise<Checkpoint | null> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Stops the timer and waits for a run in flight, so the database can be closed afterwards. */
  async stop(): Promise<void> {
    this.started = false;
    this.generation++;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(intervalMs: number, generation: number): void {
    // The next run is scheduled only after the previous one finished: a slow database never piles runs up.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runOnce().then(() => {
        if (this.started && generation === this.generation) this.schedule(intervalMs, generation);
      });
    }, intervalMs);
    this.timer.unref();
  }

  private async run(): Promise<Checkpoint | null> {
    try {
      const checkpoint = await signCheckpoint(this.db, this.key, this.options.clock);
      if (checkpoint) this.options.onCheckpoint?.(checkpoint);
      return checkpoint;
    } catch (error) {
      try {
        this.options.onError(error);
      } catch {
        // A failing error reporter must not turn into an unhandled rejection.
      }
      return null;
    }
  }
}
