import { randomUUID } from "node:crypto";
import { isDatabaseUnavailable, sqlState, UNIQUE_VIOLATION, type Database, type SqlClient, type Unlisten } from "../db/database.js";
import { ConcurrencyError, DuplicateEventError } from "./errors.js";
import { readHead, readLogPage } from "./log-reader.js";
import type { ProjectionHook, WriterProjectionHook } from "./projection-hook.js";
import { EVENT_COLUMNS, toRecordedEvent, type EventRow } from "./rows.js";
import { compareMarks, SealWatch, type CommitMark } from "./seal-watch.js";
import { EVENTS_CHANNEL, Sealer, type SealerLogger } from "./sealer.js";
import {
  ANY_VERSION,
  type AppendRequest,
  type EventMetadata,
  type ExpectedVersion,
  type LogHead,
  type NewEvent,
  type PendingEvent,
  type RecordedEvent,
} from "./types.js";

export { EVENTS_CHANNEL } from "./sealer.js";

export interface EventStoreOptions {
  /** Applied by the sealer to each batch it seals (the read tables). Every store on one database shares its sealer. */
  project?: ProjectionHook;
  /** Applied by each writer in its own transaction (the state decisions are made on). */
  projectWriter?: WriterProjectionHook;
  clock?: () => Date;
  logger?: SealerLogger;
  /** Most events the sealer takes in one cycle (the first store on a database decides; tests make it small). */
  sealBatch?: number;
}

/**
 * Taken shared by every writer with its stream locks, and exclusively by a rebuild of the read
 * tables: while a rebuild swaps them in, nothing is written.
 */
export const WRITERS_LOCK = 0x6b6c7772; // "klwr"

/** How long an append whose commit was cut off waits for the database to come back to learn its outcome. */
const OUTCOME_WAIT_MS = 20_000;
/** The longest a read waits for its own process's commits to be sealed. */
const READ_YOUR_WRITES_WAIT_MS = 5_000;
/** How often a process waiting for another process's sealer asks where it is, in case a NOTIFY was lost. */
const SEAL_POLL_MS = 250;

interface Shared {
  sealer: Sealer;
  watch: SealWatch;
  listening: Promise<Unlisten> | undefined;
  poll: NodeJS.Timeout | undefined;
}

/** One sealer (and one view of its progress) per database handle, however many stores use it. */
const perDatabase = new WeakMap<Database, Shared>();

function sharedFor(db: Database, options: EventStoreOptions): Shared {
  const existing = perDatabase.get(db);
  if (existing) {
    if (options.project && existing.sealer.projects !== options.project) {
      throw new Error("This database already has a sealer applying other projections; give every store the same ones");
    }
    return existing;
  }
  // PGlite is one process: every commit is local and wakes the sealer itself.
  const local = db.kind === "pglite";
  const sealer = new Sealer(db, {
    project: options.project,
    logger: options.logger,
    maxBatch: options.sealBatch,
    maxIdleMs: local ? 1_000 : 20,
    everyCommitWakes: local,
  });
  const shared: Shared = { sealer, watch: new SealWatch(), listening: undefined, poll: undefined };
  sealer.onSealed((batch) => shared.watch.advance(batch.cursor, batch.rebased));
  perDatabase.set(db, shared);
  sealer.start();
  return shared;
}

interface Appended {
  events: { seq: string; event: PendingEvent }[];
  mark?: CommitMark;
}

interface InsertedMark {
  [column: string]: unknown;
  txid: string;
  seq: string;
}

/**
 * The log's writer and reader. An append is one INSERT into `event_records` under the locks of the
 * streams it writes (no global lock, no head read, no NOTIFY); the sealer gives committed events
 * their dense positions, chain hashes and read-table projections. `append`/`appendMany` and
 * `transaction` answer once their events are sealed and projected (read-your-writes across
 * processes); `transaction(work, { awaitSealed: false })` answers on commit (durable) and is
 * sealed within milliseconds after.
 */
export class EventStore {
  private readonly projectWriter: WriterProjectionHook | undefined;
  private readonly clock: () => Date;
  private readonly shared: Shared;
  /** What each open transaction of `transaction()` appended: its events with their sequences, and its mark. */
  private readonly appendedIn = new WeakMap<SqlClient, Appended>();

  constructor(
    private readonly db: Database,
    options: EventStoreOptions = {},
  ) {
    this.projectWriter = options.projectWriter;
    this.clock = options.clock ?? (() => new Date());
    this.shared = sharedFor(db, options);
  }

  /**
   * Appends `events` to one stream in one transaction. With a numeric `expectedVersion` a stale
   * decision throws ConcurrencyError and writes nothing; ANY_VERSION appends facts that never conflict.
   */
  async append(streamId: string, expectedVersion: ExpectedVersion, events: NewEvent[], metadata: EventMetadata = {}): Promise<RecordedEvent[]> {
    const [recorded] = await this.appendMany([{ streamId, expectedVersion, events, metadata }]);
    return recorded ?? [];
  }

  /** Several appends in one transaction (group commit): all are written, or none; answered once sealed. */
  async appendMany(requests: AppendRequest[]): Promise<RecordedEvent[][]> {
    const pending = requests.map((request) => this.prepare(request));
    const all = pending.flat();
    if (all.length === 0) return requests.map(() => []);
    try {
      await this.transaction(async (tx) => {
        // Facts decide on nothing: only the streams that get decisions are locked.
        await this.lockStreams(tx, requests.filter((r) => r.expectedVersion !== ANY_VERSION).map((r) => r.streamId));
        await this.write(tx, requests, pending);
      });
    } catch (error) {
      const replay = await this.alreadyAppended(requests, pending, error);
      if (replay) return replay;
      throw error;
    }
    return this.sealedEvents(pending);
  }

  /**
   * Facts (ANY_VERSION): events that decide on nothing. Answered once committed (durable), sealed
   * within milliseconds after. Facts that change nothing the writers keep (an unmetered key's use)
   * are one INSERT in a transaction of its own, which takes the writers' shared lock itself: one
   * round trip. Others go through a transaction with the writer's projection.
   */
  async appendFacts(requests: AppendRequest[]): Promise<void> {
    if (requests.some((r) => r.expectedVersion !== ANY_VERSION)) throw new RangeError("appendFacts takes ANY_VERSION appends only");
    const pending = requests.map((request) => this.prepare(request));
    const events = pending.flat();
    if (events.length === 0) return;
    if (this.projectWriter?.changes(events)) {
      await this.transaction(
        async (tx) => {
          await this.lockStreams(tx, []); // facts decide on nothing: no stream lock, only the writers' one
          await this.writeWithin(tx, requests, pending);
        },
        { awaitSealed: false },
      );
      return;
    }
    let written: { mark: CommitMark; seqs: string[] };
    try {
      written = await insertRecords(this.db, events, { writersLock: true });
    } catch (error) {
      if (sqlState(error) === UNIQUE_VIOLATION) throw translateUniqueViolation(requests, error);
      if (!isDatabaseUnavailable(error)) throw error;
      // The statement was its own transaction: whether it committed is unknown until the log says.
      const mark = await this.wasCommitted(events[0]!.eventId, error, { afterWriters: true });
      if (!mark) throw error;
      this.committed(mark, []); // the sealer reads them back
      return;
    }
    this.committed(
      written.mark,
      events.map((event, index) => ({ seq: written.seqs[index]!, event })),
    );
  }

  /** Tells the sealer about a commit: what it wrote (so it need not read it back) and how far it reaches. */
  private committed(mark: CommitMark, events: Appended["events"]): void {
    this.shared.sealer.remember(events);
    this.shared.watch.committed(mark);
    this.shared.sealer.wake();
  }

  /**
   * Runs `work` in one transaction, in which it takes its streams' locks (`lockStreams`, first)
   * and appends with `appendWithin`. Answers once what it appended is sealed, or with
   * `awaitSealed: false` once committed. When the connection is lost while the transaction commits,
   * whether it committed is unknown: the store then waits for the database to come back and looks
   * for the first event it appended, so that a caller is never told "nothing happened" about a
   * change that was made (nor the other way round).
   */
  async transaction<T>(work: (tx: SqlClient) => Promise<T>, options: { awaitSealed?: boolean } = {}): Promise<T> {
    const appended: Appended = { events: [] };
    let finished: { value: T } | undefined;
    try {
      await this.db.transaction(async (tx) => {
        this.appendedIn.set(tx, appended);
        finished = { value: await work(tx) };
      });
    } catch (error) {
      const first = appended.events[0]?.event.eventId;
      if (!finished || !first || !isDatabaseUnavailable(error)) throw error;
      const mark = await this.wasCommitted(first, error);
      if (!mark) throw error;
      appended.mark = mark;
      appended.events = []; // the sealer reads them back
    }
    if (appended.mark) {
      this.committed(appended.mark, appended.events);
      if (options.awaitSealed !== false) await this.sealed(appended.mark);
    }
    return finished!.value;
  }

  /**
   * Locks the streams a transaction is about to write, in one order for every writer (so two
   * never wait on each other in a cycle), until it ends. Call it before the transaction's first
   * write and before reading what it decides on: its transaction id is then taken after the locks,
   * so writers of one stream are sealed in the order they decided in. Every writer calls it (with no
   * streams when it decides on nothing), as it also takes the writers' shared lock a rebuild waits on.
   */
  async lockStreams(tx: SqlClient, streamIds: readonly string[]): Promise<void> {
    await this.lockStreamsOf(tx, `SELECT unnest($1::text[]) AS id`, [[...new Set(streamIds)]]);
  }

  /**
   * `lockStreams` for the stream ids a query selects (a text column `id`), in the same statement:
   * one round trip finds and locks them. Returns the ids locked.
   */
  async lockStreamsOf(tx: SqlClient, selectIds: string, params: unknown[]): Promise<string[]> {
    const writers = params.length + 1;
    const { rows } = await tx.query<{ ids: string[] | null }>(
      `SELECT pg_advisory_xact_lock_shared($${writers}),
              (SELECT array_agg(l.id) FROM (
                 SELECT o.id, pg_advisory_xact_lock(o.h) FROM (
                   SELECT DISTINCT f.id, hashtextextended(f.id, 0) AS h FROM (${selectIds}) AS f ORDER BY h) AS o) AS l) AS ids`,
      [...params, WRITERS_LOCK],
    );
    return rows[0]?.ids ?? [];
  }

  /**
   * Appends inside the caller's transaction (see `transaction`), after `lockStreams` for every
   * stream it writes. Returns the events as written, without positions: those come with sealing.
   */
  async appendWithin(tx: SqlClient, requests: AppendRequest[]): Promise<PendingEvent[][]> {
    const pending = requests.map((request) => this.prepare(request));
    if (pending.every((events) => events.length === 0)) return pending;
    await this.writeWithin(tx, requests, pending);
    return pending;
  }

  /** `write` for a caller's transaction: a unique violation becomes the typed error it means. */
  private async writeWithin(tx: SqlClient, requests: AppendRequest[], pending: PendingEvent[][]): Promise<void> {
    try {
      await this.write(tx, requests, pending);
    } catch (error) {
      throw sqlState(error) === UNIQUE_VIOLATION ? translateUniqueViolation(requests, error) : error;
    }
  }

  private prepare(request: AppendRequest): PendingEvent[] {
    const { streamId, expectedVersion, events, metadata } = request;
    if (expectedVersion !== ANY_VERSION && (!Number.isInteger(expectedVersion) || expectedVersion < 0)) {
      throw new RangeError(`expectedVersion must be a whole number >= 0 or ANY_VERSION, got ${expectedVersion}`);
    }
    const now = this.clock();
    return events.map((event, index) => ({
      eventId: event.eventId ?? randomUUID(),
      streamId,
      streamVersion: expectedVersion === ANY_VERSION ? null : expectedVersion + index + 1,
      type: event.type,
      schemaVersion: event.schemaVersion,
      data: event.data,
      metadata,
      occurredAt: event.occurredAt ?? now,
    }));
  }

  private async write(tx: SqlClient, requests: AppendRequest[], pending: PendingEvent[][]): Promise<void> {
    await checkVersions(tx, requests);
    const events = pending.flat();
    const { mark, seqs } = await insertRecords(tx, events);
    if (this.projectWriter) await this.projectWriter(tx, events);
    const appended = this.appendedIn.get(tx);
    if (appended) {
      events.forEach((event, index) => appended.events.push({ seq: seqs[index]!, event }));
      if (!appended.mark || compareMarks(mark, appended.mark) > 0) appended.mark = mark;
    }
  }

  /**
   * Whether the event was written (its mark), asked until the database answers (then rethrows `cause`).
   * `afterWriters`: the append was a statement of its own, which the server may still be running
   * after the connection was lost (waiting for the writers' lock, say) and commit later; the
   * question then waits for every writer holding or awaiting that lock, by taking it exclusively.
   */
  private async wasCommitted(eventId: string, cause: unknown, options: { afterWriters?: boolean } = {}): Promise<CommitMark | undefined> {
    const deadline = Date.now() + OUTCOME_WAIT_MS;
    const ask = async (sql: SqlClient) => {
      if (options.afterWriters) await sql.query("SELECT pg_advisory_xact_lock($1)", [WRITERS_LOCK]);
      return sql.query<InsertedMark>(
        `SELECT txid::text AS txid, max(seq)::text AS seq FROM event_records
          WHERE txid = (SELECT txid FROM event_records WHERE event_id = $1) GROUP BY txid`,
        [eventId],
      );
    };
    for (;;) {
      try {
        const { rows } = options.afterWriters ? await this.db.transaction(ask) : await ask(this.db);
        return rows[0] && { txid: BigInt(rows[0].txid), seq: BigInt(rows[0].seq) };
      } catch (error) {
        if (!isDatabaseUnavailable(error) || Date.now() > deadline) throw cause;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  /**
   * The appended events with their positions and hashes: they are committed and sealed. A database
   * that goes away now is waited for, as for a lost commit: the append happened, and its caller
   * (a key's creation, whose secret is shown once) must not be told otherwise.
   */
  private async sealedEvents(pending: PendingEvent[][]): Promise<RecordedEvent[][]> {
    const ids = pending.flat().map((e) => e.eventId);
    const deadline = Date.now() + OUTCOME_WAIT_MS;
    let rows: EventRow[];
    for (;;) {
      try {
        ({ rows } = await this.db.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE event_id = ANY($1::uuid[])`, [ids]));
        if (rows.length === ids.length || Date.now() > deadline) break;
        await this.sealingProgress(); // not all sealed yet (a sealer re-basing after a restore, say)
      } catch (error) {
        if (!isDatabaseUnavailable(error) || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    const byId = new Map(rows.map((row) => [row.event_id, toRecordedEvent(row)]));
    return pending.map((events) => events.map((e) => byId.get(e.eventId)!));
  }

  /** An append retried with the same event ids after it committed is answered with what was written, once sealed. */
  private async alreadyAppended(requests: AppendRequest[], pending: PendingEvent[][], error: unknown): Promise<RecordedEvent[][] | undefined> {
    const supplied = requests.some((r) => r.events.some((e) => e.eventId));
    if (!supplied) {
      if (sqlState(error) === UNIQUE_VIOLATION) throw translateUniqueViolation(requests, error);
      return undefined;
    }
    const { rows } = await this.db.query<{ event_id: string; type: string; txid: string; seq: string }>(
      `SELECT event_id, type, txid::text AS txid, seq::text AS seq FROM event_records WHERE event_id = ANY($1::uuid[])`,
      [pending.flat().map((e) => e.eventId)],
    );
    if (rows.length === 0) {
      if (sqlState(error) === UNIQUE_VIOLATION) throw translateUniqueViolation(requests, error);
      return undefined;
    }
    const byId = new Map(rows.map((row) => [row.event_id, row]));
    const mismatch = pending.flat().filter((e) => byId.get(e.eventId)?.type !== e.type);
    if (mismatch.length > 0) throw new DuplicateEventError(mismatch.map((e) => e.eventId));
    const last = rows.reduce((a, b) => (compareMarks(markOf(a), markOf(b)) >= 0 ? a : b));
    await this.learnCursor();
    await this.sealed(markOf(last));
    return this.sealedEvents(pending);
  }

  /**
   * A stream's events in order. Sealed events, once what this process committed is sealed (it reads
   * its own writes); `decisionsOnly` leaves out facts (a hot key's many KeyUsed) and reads decisions
   * committed but not sealed yet instead: in a transaction holding the stream's lock, that is
   * exactly the state the next decision is made on.
   */
  async readStream(streamId: string, options: { decisionsOnly?: boolean; sql?: SqlClient } = {}): Promise<RecordedEvent[]> {
    const sql = options.sql ?? this.db;
    if (options.decisionsOnly) {
      const { rows } = await sql.query<EventRow>(
        `SELECT '0' AS position, event_id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at, '' AS hash
           FROM event_records WHERE stream_id = $1 AND stream_version IS NOT NULL ORDER BY stream_version`,
        [streamId],
      );
      return rows.map(toRecordedEvent);
    }
    if (!options.sql) await this.caughtUp();
    const { rows } = await sql.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY events.position`, [streamId]);
    return rows.map(toRecordedEvent);
  }

  /**
   * Events after `afterPosition`, in position order, once what this process committed is sealed.
   * Exact: it never skips or repeats an event.
   */
  async readAll(afterPosition: bigint, limit: number): Promise<RecordedEvent[]> {
    await this.caughtUp();
    return this.readSealed(afterPosition, limit);
  }

  /** `readAll` without waiting: what is sealed now (a follower woken by the sealer reads this). */
  readSealed(afterPosition: bigint, limit: number): Promise<RecordedEvent[]> {
    return readLogPage(this.db, afterPosition, limit);
  }

  /** The last sealed event, once what this process committed is sealed. */
  async head(): Promise<LogHead> {
    await this.caughtUp();
    return readHead(this.db);
  }

  /** The last sealed event's position and hash, without waiting for anything (`head` waits for this process's commits). */
  sealedHead(): Promise<LogHead> {
    return readHead(this.db);
  }

  /** Calls `onAppend` after any process seals events (payload: the last position), and after a reconnect. */
  onAppend(onAppend: (lastPosition: bigint | undefined) => void): Promise<Unlisten> {
    return this.db.listen(EVENTS_CHANNEL, (payload) => onAppend(payload ? BigInt(payload.split(" ")[0]!) : undefined));
  }

  /** Calls `listener` after each batch this process seals, once committed (lag measurements, tests). */
  onSealed(listener: (events: readonly RecordedEvent[]) => void): () => void {
    return this.shared.sealer.onSealed((batch) => listener(batch.events));
  }

  /** Resolves once everything this process committed before the call is sealed and projected. */
  caughtUp(): Promise<void> {
    // Bounded: while the database is away nothing is sealed, and a read should fail or answer on its
    // own (SERVICE_UNAVAILABLE) rather than hang behind the sealer.
    return this.waitFor(this.shared.watch.caughtUp(READ_YOUR_WRITES_WAIT_MS));
  }

  /** Resolves once every event committed before the call, by any process, is sealed and projected. */
  async drained(): Promise<void> {
    const { rows } = await this.db.query<InsertedMark>(
      `SELECT txid::text AS txid, seq::text AS seq FROM event_records ORDER BY txid DESC, seq DESC LIMIT 1`,
    );
    if (!rows[0]) return;
    // What was sealed before this process started is known only from the database.
    await this.learnCursor();
    await this.sealed(markOf(rows[0]));
  }

  /**
   * Where the sealer is, as the database says: for marks this process did not see sealed. A cursor
   * of another cluster (a restore the sealer has not re-based yet) says nothing about this one's ids.
   */
  private async learnCursor(): Promise<void> {
    const { rows } = await this.db.query<{ txid: string; seq: string }>(
      `SELECT cursor_txid::text AS txid, cursor_seq::text AS seq FROM log_seal WHERE cluster = (SELECT system_identifier::text FROM pg_control_system())`,
    );
    if (rows[0]) this.shared.watch.advance({ txid: BigInt(rows[0].txid), seq: BigInt(rows[0].seq) });
  }

  /** Resolves when the sealer next seals a batch (here or in another process), or after a short while. */
  sealingProgress(): Promise<void> {
    return this.waitFor(this.shared.watch.nextAdvance(50));
  }

  /** Resolves once the sealer (here or in another process) has passed `mark`. */
  private sealed(mark: CommitMark): Promise<void> {
    return this.waitFor(this.shared.watch.sealed(mark));
  }

  /** Waits for the watch, following another process's sealer while this one does not seal. */
  private async waitFor(done: Promise<void>): Promise<void> {
    // PGlite is one process, whose own sealer reports every batch.
    if (this.db.kind === "postgres") this.followRemoteSealer();
    await done;
  }

  /** Learns another process's sealing progress: its NOTIFYs, and a poll of its cursor while appends here wait. */
  private followRemoteSealer(): void {
    const shared = this.shared;
    const learn = () => this.learnCursor();
    shared.listening ??= this.db.listen(EVENTS_CHANNEL, (payload) => {
      if (!payload) return void learn().catch(() => {});
      const [, txid, seq, rebased] = payload.split(" ");
      if (txid && seq) shared.watch.advance({ txid: BigInt(txid), seq: BigInt(seq) }, rebased === "rebased");
    });
    shared.listening.catch(() => (shared.listening = undefined));
    if (!shared.poll) {
      shared.poll = setInterval(() => {
        if (shared.watch.waiting === 0) {
          clearInterval(shared.poll);
          shared.poll = undefined;
          return;
        }
        learn().catch(() => {});
      }, SEAL_POLL_MS);
      shared.poll.unref();
    }
  }

  /** Stops this database's sealer (shared by its stores): call before closing the database. */
  async close(): Promise<void> {
    const shared = this.shared;
    if (shared.poll) clearInterval(shared.poll);
    await shared.sealer.stop();
    const unlisten = await shared.listening?.catch(() => undefined);
    await unlisten?.().catch(() => {});
  }
}

function translateUniqueViolation(requests: AppendRequest[], error: unknown): Error {
  const constraint = (error as { constraint?: string }).constraint ?? String((error as Error).message);
  if (constraint.includes("events_stream_version_key")) {
    const request = requests.find((r) => r.expectedVersion !== ANY_VERSION) ?? requests[0]!;
    return new ConcurrencyError(request.streamId, request.expectedVersion as number, undefined);
  }
  return error as Error;
}

const markOf = (row: { txid: string; seq: string }): CommitMark => ({ txid: BigInt(row.txid), seq: BigInt(row.seq) });

/**
 * Versions only grow, so checking before the insert is exact together with the unique
 * (stream, version) index: a stream that moves on after this check fails the insert.
 */
async function checkVersions(tx: SqlClient, requests: AppendRequest[]): Promise<void> {
  const decisions = requests.filter((r) => r.expectedVersion !== ANY_VERSION && r.events.length > 0);
  if (decisions.length === 0) return;
  const { rows } = await tx.query<{ stream_id: string; version: number }>(
    `SELECT s.stream_id, COALESCE((SELECT max(stream_version) FROM event_records e WHERE e.stream_id = s.stream_id), 0)::int AS version
       FROM unnest($1::text[]) AS s(stream_id)`,
    [decisions.map((r) => r.streamId)],
  );
  const actual = new Map(rows.map((row) => [row.stream_id, row.version]));
  for (const request of decisions) {
    const version = actual.get(request.streamId) ?? 0;
    if (version !== request.expectedVersion) throw new ConcurrencyError(request.streamId, request.expectedVersion as number, version);
  }
}

/**
 * One INSERT for the whole append. Its transaction id and last insertion sequence place it in the
 * sealer's order; each event's sequence (in the order given) lets the sealer use it without reading it back.
 */
async function insertRecords(sql: SqlClient, events: PendingEvent[], options: { writersLock?: boolean } = {}): Promise<{ mark: CommitMark; seqs: string[] }> {
  // The lock's row is joined to every inserted row, so it is taken before the first insert gives
  // the statement's transaction its id (the order the sealer relies on; see lockStreams).
  const { rows } = await sql.query<InsertedMark & { seqs: string[]; ids: string[] }>(
    `WITH ${options.writersLock ? `writers AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared(${WRITERS_LOCK}) AS locked),` : ""} inserted AS (
       INSERT INTO event_records (event_id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at)
       SELECT u.* FROM ${options.writersLock ? "writers, " : ""}unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::int[], $6::jsonb[], $7::jsonb[], $8::timestamptz[]) AS u
       RETURNING txid, seq, event_id)
     SELECT max(txid::text) AS txid, max(seq)::text AS seq, array_agg(seq::text) AS seqs, array_agg(event_id::text) AS ids FROM inserted`,
    [
      events.map((e) => e.eventId),
      events.map((e) => e.streamId),
      events.map((e) => e.streamVersion),
      events.map((e) => e.type),
      events.map((e) => e.schemaVersion),
      events.map((e) => JSON.stringify(e.data)),
      events.map((e) => JSON.stringify(e.metadata)),
      events.map((e) => e.occurredAt.toISOString()),
    ],
  );
  const seqOf = new Map(rows[0]!.ids.map((id, index) => [id, rows[0]!.seqs[index]!]));
  return { mark: markOf(rows[0]!), seqs: events.map((e) => seqOf.get(e.eventId)!) };
}
