import { DatabaseClosedError, type Database, type Session, type SqlClient } from "../db/database.js";
import { chainHash } from "./hash-chain.js";
import type { ProjectionHook } from "./projection-hook.js";
import { toRecordedEvent, type RecordRow } from "./rows.js";
import type { CommitMark } from "./seal-watch.js";
import type { PendingEvent, RecordedEvent } from "./types.js";

/** NOTIFYed once per sealed batch; payload "<last position> <cursor txid> <cursor seq> [rebased]". */
export const EVENTS_CHANNEL = "keyledger_events";
/** Held at session level by the one sealer across every process. */
export const SEALER_LOCK = 0x6b6c7365; // "klse"
/** Held by each sealing cycle for its transaction; `pauseSealing` takes it to keep the sealer out. */
export const SEAL_CYCLE_LOCK = 0x6b6c7363; // "klsc"

export interface SealedBatch {
  events: readonly RecordedEvent[];
  /** The insertion sequence of each event, in the same order. */
  seqs: readonly bigint[];
  /** The sealer's cursor after the batch: every committed row at or before it in (txid, seq) order is sealed. */
  cursor: CommitMark;
  /** The cursor was re-based (a restore into another cluster): transaction ids restarted. */
  rebased: boolean;
}

export interface SealerLogger {
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface SealerOptions {
  project?: ProjectionHook;
  logger?: SealerLogger;
  /** Most rows sealed in one cycle, but for the rest of the last transaction's. */
  maxBatch?: number;
  /** How often a process that is not the sealer tries to become it (takeover time after a crash). */
  electionIntervalMs?: number;
  /** Longest pause between cycles while there is nothing to seal (local commits wake it at once). */
  maxIdleMs?: number;
  /**
   * Every commit is this process's and wakes the sealer (PGlite: one process). Between wake-ups it
   * then runs a cycle only every `maxIdleMs` (for rows written outside the store, such as a restored
   * data folder's) instead of polling.
   */
  everyCommitWakes?: boolean;
}

/**
 * Blocks sealing until `tx` ends: every cycle holds SEAL_CYCLE_LOCK for its transaction, so a
 * transaction holding it (a rebuild swapping read tables) sees no event sealed meanwhile.
 */
export async function pauseSealing(tx: SqlClient): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock($1)", [SEAL_CYCLE_LOCK]);
}

interface SealState {
  [column: string]: unknown;
  cursor_txid: string;
  cursor_seq: string;
  position: string;
  hash: string;
  cluster: string;
  reset_guard: string;
}

type CandidateRow = RecordRow & { seq: string; txid: string };

const CANDIDATE_COLUMNS = `r.seq::text AS seq, r.txid::text AS txid, r.event_id, r.stream_id, r.stream_version, r.type,
  r.schema_version, r.data, r.metadata, r.occurred_at`;

/** After a re-base, rows with ids up to the guard may be sealed already: those are checked. */
const notSealed = (guard: string) => `(r.txid > ${guard} OR NOT EXISTS (SELECT 1 FROM event_seals s WHERE s.seq = r.seq))`;

/**
 * Committed rows of `event_records r` after the cursor and below the horizon (every transaction that
 * could still commit began after them), given the cursor and re-base guard as SQL expressions.
 */
const sealable = (cursorTxid: string, cursorSeq: string, guard: string) =>
  `(r.txid, r.seq) > (${cursorTxid}, ${cursorSeq}) AND r.txid < pg_snapshot_xmin(pg_current_snapshot()) AND ${notSealed(guard)}`;

/** Most events remembered for sealing; past it, the sealer reads payloads back from the database. */
const MAX_KNOWN = 200_000;

/** The first pause of a sealer polling for other processes' commits after it found nothing more to seal. */
const MIN_POLL_MS = 4;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * The one writer of positions. Every process runs a Sealer; the one holding SEALER_LOCK on its
 * own connection seals, the others try again every `electionIntervalMs`, so when the holder's
 * connection dies (the process crashed) another takes over. Each cycle, in one transaction:
 * the rows whose transaction ended before every running one began (txid below the snapshot's
 * xmin) and that follow the cursor, in (txid, seq) order, get the next dense positions and chain
 * hashes, the projections for the batch, and one NOTIFY. A transaction still running holds back
 * the rows after it, never loses them: they are sealed once it ends.
 */
export class Sealer {
  private readonly project: ProjectionHook | undefined;
  private readonly logger: SealerLogger;
  private readonly maxBatch: number;
  private readonly electionIntervalMs: number;
  private readonly maxIdleMs: number;
  private readonly everyCommitWakes: boolean;
  private readonly listeners = new Set<(batch: SealedBatch) => void>();
  private session: Session | undefined;
  private leading = false;
  private readonly known = new Map<string, PendingEvent>();
  private cluster: string | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private wakeUp: (() => void) | undefined;
  private woken = false;

  constructor(
    private readonly db: Database,
    options: SealerOptions = {},
  ) {
    this.project = options.project;
    this.logger = options.logger ?? stderrLogger;
    this.maxBatch = options.maxBatch ?? 5_000;
    this.electionIntervalMs = options.electionIntervalMs ?? 250;
    this.maxIdleMs = options.maxIdleMs ?? 20;
    this.everyCommitWakes = options.everyCommitWakes ?? false;
  }

  get projects(): ProjectionHook | undefined {
    return this.project;
  }

  /** True while this process holds the sealer's lock. */
  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    if (this.running || this.stopped) return;
    this.running = this.loop();
  }

  /** Something was committed: seal it now rather than after the idle pause (when this process seals). */
  wake(): void {
    if (!this.leading && !this.stopped) return;
    this.woken = true;
    this.wakeUp?.();
  }

  /** Called after each sealed batch's commit, in this process only. */
  onSealed(listener: (batch: SealedBatch) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.running;
    await this.dropSession();
  }

  private async loop(): Promise<void> {
    let idle = 0;
    let failures = 0;
    while (!this.stopped) {
      try {
        if (!this.session) await this.openSession();
        if (this.stopped) break;
        if (!this.leading && !(await this.elect())) {
          // Not woken by local commits: those are for the process that seals.
          await sleep(this.electionIntervalMs);
          continue;
        }
        // Woken by a local commit, it knows there is something; polling, it asks first.
        const woken = this.woken || this.everyCommitWakes;
        this.woken = false;
        const batch = woken || (await this.anythingToSeal(this.session!)) ? await this.cycle(this.session!) : undefined;
        failures = 0;
        if (batch) for (const listener of this.listeners) listener(batch);
        idle = this.nextPause(batch, idle);
        if (idle > 0) await this.pause(idle);
      } catch (error) {
        await Promise.resolve(); // let a session lost to the database's close stop the loop first
        if (this.stopped || error instanceof DatabaseClosedError) break;
        failures++;
        const delay = Math.min(50 * 2 ** Math.min(failures, 6), 2_000);
        this.logger.warn({ err: error, retryInMs: delay }, "sealer cycle failed; retrying");
        await this.dropSession();
        await this.pause(delay);
      }
    }
  }

  private async openSession(): Promise<void> {
    const session = await this.db.openSession({ applicationName: "keyledger-sealer", idleInTransactionTimeoutMs: 10_000 });
    this.session = session;
    void session.lost.then((reason) => {
      if (this.session !== session) return;
      this.session = undefined;
      this.leading = false;
      this.known.clear();
      if (reason === "closed") {
        this.stopped = true;
        this.wake();
      }
    });
  }

  private async dropSession(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    this.leading = false;
    this.known.clear();
    await session?.close().catch(() => {});
  }

  private async elect(): Promise<boolean> {
    const session = this.session!;
    const { rows } = await session.query<{ won: boolean }>("SELECT pg_try_advisory_lock($1) AS won", [SEALER_LOCK]);
    if (!rows[0]?.won) return false;
    const identity = await session.query<{ cluster: string }>("SELECT system_identifier::text AS cluster FROM pg_control_system()");
    this.cluster = identity.rows[0]!.cluster;
    this.leading = true;
    return true;
  }

  private async pause(ms: number): Promise<void> {
    if (this.woken || this.stopped) return;
    await Promise.race([sleep(ms), new Promise<void>((resolve) => (this.wakeUp = resolve))]);
    this.wakeUp = undefined;
  }

  /**
   * How long to pause after a cycle: not at all when it was cut short (more is waiting). Local
   * commits wake the sealer at once; other processes' are found by polling, more slowly while none come.
   */
  private nextPause(batch: SealedBatch | undefined, previous: number): number {
    if (batch && batch.events.length >= this.maxBatch) return 0;
    if (this.everyCommitWakes) return this.maxIdleMs;
    return batch ? MIN_POLL_MS : Math.min(Math.max(MIN_POLL_MS, previous * 2), this.maxIdleMs);
  }

  /**
   * Whether a cycle would find anything: committed rows after the cursor below the horizon, or a
   * database restored into another cluster. One statement outside a transaction, so that polling
   * for other processes' commits costs one round trip rather than a transaction's four.
   */
  private async anythingToSeal(session: Session): Promise<boolean> {
    const { rows } = await session.query<{ cluster: string; pending: boolean }>(
      `SELECT l.cluster, EXISTS (SELECT 1 FROM event_records r WHERE ${sealable("l.cursor_txid", "l.cursor_seq", "l.reset_guard")}) AS pending
         FROM log_seal l`,
      [], // parameters, even none, make it a prepared statement on PostgreSQL: it runs every few milliseconds
    );
    const state = rows[0];
    return !state || state.cluster !== this.cluster || state.pending;
  }

  /** One cycle in one transaction; returns the batch sealed, if any, after its commit. */
  private cycle(session: Session): Promise<SealedBatch | undefined> {
    return session.transaction(async (tx) => {
      // An advisory lock, not FOR UPDATE on the state row: the cycle takes no transaction id of its
      // own before its candidates' statement reads the horizon, so it never holds that horizon back.
      const { rows: states } = await tx.query<SealState>(
        `SELECT cursor_txid::text AS cursor_txid, cursor_seq::text AS cursor_seq, position::text AS position, hash,
                cluster, reset_guard::text AS reset_guard
           FROM log_seal, pg_advisory_xact_lock($1)`,
        [SEAL_CYCLE_LOCK],
      );
      const state = states[0]!;
      if (state.cluster !== this.cluster) return this.rebase(tx, state);
      const { rows: marks } = await tx.query<{ seq: string; txid: string }>(
        `SELECT r.seq::text AS seq, r.txid::text AS txid
           FROM event_records r
          WHERE ${sealable("$1::xid8", "$2::bigint", "$3::xid8")}
          ORDER BY r.txid, r.seq
          LIMIT $4`,
        [state.cursor_txid, state.cursor_seq, state.reset_guard, this.maxBatch],
      );
      if (marks.length === 0) return undefined;
      if (marks.length === this.maxBatch) marks.push(...(await this.restOfTransaction(tx, marks.at(-1)!, state.reset_guard)));
      const rows = await this.candidates(tx, marks);
      const last = rows.at(-1)!;
      return this.seal(tx, state, rows, { txid: last.txid, seq: last.seq, guard: state.reset_guard }, false);
    });
  }

  /**
   * The rows of a batch's last transaction after the cut at `maxBatch`: a transaction's events are
   * sealed together, so a reader never sees part of one (a rotation's two keys, say). Unbounded: the
   * store's transactions hold at most a verification batch's events (500); a bulk load written
   * straight into event_records as one huge transaction would be sealed in one long cycle.
   */
  private async restOfTransaction(tx: SqlClient, last: { seq: string; txid: string }, guard: string): Promise<{ seq: string; txid: string }[]> {
    const { rows } = await tx.query<{ seq: string; txid: string }>(
      `SELECT r.seq::text AS seq, r.txid::text AS txid
         FROM event_records r
        WHERE r.txid = $1::xid8 AND r.seq > $2::bigint AND ${notSealed("$3::xid8")}
        ORDER BY r.seq`,
      [last.txid, last.seq, guard],
    );
    return rows;
  }

  /**
   * The rows to seal, in order: from what this process wrote and still knows (no read of their
   * payloads back from the database), the others read in one statement.
   */
  private async candidates(tx: SqlClient, marks: { seq: string; txid: string }[]): Promise<CandidateRow[]> {
    const missing = marks.filter((mark) => !this.known.has(mark.seq)).map((mark) => mark.seq);
    const fetched = new Map<string, CandidateRow>();
    if (missing.length > 0) {
      const { rows } = await tx.query<CandidateRow>(`SELECT ${CANDIDATE_COLUMNS} FROM event_records r WHERE r.seq = ANY($1::bigint[])`, [missing]);
      for (const row of rows) fetched.set(row.seq, row);
    }
    return marks.map(({ seq, txid }) => {
      const event = this.known.get(seq);
      if (!event) return fetched.get(seq)!;
      return {
        seq,
        txid,
        event_id: event.eventId,
        stream_id: event.streamId,
        stream_version: event.streamVersion,
        type: event.type,
        schema_version: event.schemaVersion,
        data: event.data,
        metadata: event.metadata,
        occurred_at: event.occurredAt,
      };
    });
  }

  /**
   * Events this process committed, by insertion sequence: while it seals, it does not read their
   * payloads back. Forgotten once sealed, or all at once when it stops sealing.
   */
  remember(events: readonly { seq: string; event: PendingEvent }[]): void {
    if (!this.leading || this.known.size > MAX_KNOWN) return;
    for (const { seq, event } of events) if (seq) this.known.set(seq, event);
  }

  /**
   * The database was restored into another cluster (its system identifier changed), where
   * transaction ids start again from a low number: rows written since may carry ids below the
   * cursor. Every row not yet sealed is sealed now, in insertion order; the cursor restarts at
   * this cluster's horizon, and rows up to the highest id present are checked against the seals
   * from then on, so none is sealed twice.
   */
  private async rebase(tx: SqlClient, state: SealState): Promise<SealedBatch | undefined> {
    const { rows: marks } = await tx.query<{ horizon: string }>(`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon`);
    const { rows } = await tx.query<CandidateRow>(
      `SELECT ${CANDIDATE_COLUMNS} FROM event_records r
        WHERE NOT EXISTS (SELECT 1 FROM event_seals s WHERE s.seq = r.seq)
        ORDER BY r.seq`,
    );
    const { rows: guards } = await tx.query<{ guard: string }>(`SELECT COALESCE(MAX(txid), '0')::text AS guard FROM event_records`);
    const cursor = { txid: marks[0]!.horizon, seq: "0", guard: guards[0]!.guard };
    this.logger.warn({ from: state.cluster, to: this.cluster, unsealed: rows.length }, "database restored into another cluster: sealer cursor re-based");
    // With nothing to seal this still saves the re-based cursor and announces it.
    return this.seal(tx, state, rows, cursor, true);
  }

  private async seal(
    tx: SqlClient,
    state: SealState,
    rows: CandidateRow[],
    cursor: { txid: string; seq: string; guard: string },
    rebased: boolean,
  ): Promise<SealedBatch> {
    let position = BigInt(state.position);
    let previousHash = state.hash;
    const events: RecordedEvent[] = rows.map((row) => {
      position += 1n;
      const event = toRecordedEvent({ ...row, position: position.toString(), hash: "" });
      previousHash = chainHash(previousHash, event);
      return { ...event, hash: previousHash };
    });
    if (this.project && events.length > 0) await this.project(tx, events);
    // The seals, the new cursor and head, and the NOTIFY in one statement.
    await tx.query(
      `WITH sealed AS (INSERT INTO event_seals (position, seq, hash) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[])),
            saved AS (UPDATE log_seal SET cursor_txid = $4::xid8, cursor_seq = $5, position = $6, hash = $7, cluster = $8, reset_guard = $9::xid8)
       SELECT pg_notify($10, $11)`,
      [
        events.map((e) => e.position.toString()),
        rows.map((r) => r.seq),
        events.map((e) => e.hash),
        cursor.txid,
        cursor.seq,
        position.toString(),
        previousHash,
        this.cluster,
        cursor.guard,
        EVENTS_CHANNEL,
        `${position} ${cursor.txid} ${cursor.seq}${rebased ? " rebased" : ""}`,
      ],
    );
    for (const row of rows) this.known.delete(row.seq);
    return { events, seqs: rows.map((r) => BigInt(r.seq)), cursor: { txid: BigInt(cursor.txid), seq: BigInt(cursor.seq) }, rebased };
  }
}

const stderrLogger: SealerLogger = {
  warn: (object, message) => process.stderr.write(`${JSON.stringify({ level: "warn", msg: message, ...describe(object) })}\n`),
  error: (object, message) => process.stderr.write(`${JSON.stringify({ level: "error", msg: message, ...describe(object) })}\n`),
};

function describe(object: object): object {
  const { err, ...rest } = object as { err?: unknown };
  return err instanceof Error ? { ...rest, err: err.message } : object;
}
