import { randomUUID } from "node:crypto";
import { sqlState, UNIQUE_VIOLATION, type Database, type SqlClient, type Unlisten } from "../db/database.js";
import { ConcurrencyError, DuplicateEventError } from "./errors.js";
import { readHead, readLogPage } from "./log-reader.js";
import { hookOf, type InlineProjection, type ProjectionHook } from "./projection-hook.js";
import { SEALED_RECORD_COLUMNS, toRecordedEvent, type EventRow } from "./rows.js";
import { SealWatch } from "./seal-watch.js";
import { EVENTS_CHANNEL, SEAL_REQUEST_CHANNEL, Sealer, type SealerLogger } from "./sealer.js";
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
export type { InlineProjection, ProjectionHook } from "./projection-hook.js";

export interface EventStoreOptions {
  /** Applied by the sealer to each batch it seals. Every store on one database shares its sealer. */
  projections?: readonly InlineProjection[];
  project?: ProjectionHook;
  clock?: () => Date;
  logger?: SealerLogger;
}

interface Shared {
  sealer: Sealer;
  watch: SealWatch;
}

/** One sealer (and one seal watch) per database handle, however many stores use it. */
const perDatabase = new WeakMap<Database, Shared>();

function sharedFor(db: Database, project: ProjectionHook | undefined, logger: SealerLogger | undefined): Shared {
  const existing = perDatabase.get(db);
  if (existing) {
    if (project && existing.sealer.projects !== project) {
      throw new Error("This database already has a sealer applying other projections; give every store the same ones");
    }
    return existing;
  }
  const sealer = new Sealer(db, { project, logger });
  const shared = { sealer, watch: new SealWatch(db, sealer) };
  perDatabase.set(db, shared);
  sealer.start();
  return shared;
}

const hooks = new WeakMap<readonly InlineProjection[], ProjectionHook>();

interface InsertedRow {
  [column: string]: unknown;
  seq: string;
  event_id: string;
}

/**
 * The log's writer and reader. Appends only INSERT (one statement, no lock); the sealer gives
 * committed events their positions. `append`/`appendMany` answer once their events are sealed
 * and projected (read-your-writes); `appendFacts` answers once they are committed.
 */
export class EventStore {
  private readonly clock: () => Date;
  private readonly sealer: Sealer;
  private readonly watch: SealWatch;
  private requesting = false;

  constructor(
    private readonly db: Database,
    options: EventStoreOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
    let project = options.project;
    if (!project && options.projections) {
      project = hooks.get(options.projections) ?? hookOf(options.projections);
      hooks.set(options.projections, project);
    }
    ({ sealer: this.sealer, watch: this.watch } = sharedFor(db, project, options.logger));
  }

  /**
   * Appends `events` to one stream. With a numeric `expectedVersion` a stale decision throws
   * ConcurrencyError and writes nothing; ANY_VERSION appends facts that never conflict.
   */
  async append(
    streamId: string,
    expectedVersion: ExpectedVersion,
    events: NewEvent[],
    metadata: EventMetadata = {},
  ): Promise<RecordedEvent[]> {
    const [recorded] = await this.appendMany([{ streamId, expectedVersion, events, metadata }]);
    return recorded ?? [];
  }

  /** Several appends in one statement (group commit): all are written, or none; answered once sealed. */
  async appendMany(requests: AppendRequest[]): Promise<RecordedEvent[][]> {
    const pending = requests.map((request) => this.prepare(request));
    if (pending.every((events) => events.length === 0)) return requests.map(() => []);
    let inserted: InsertedRow[];
    try {
      inserted = await this.insert(requests, pending);
    } catch (error) {
      const replay = await this.alreadyAppended(requests, pending, error);
      if (replay) return replay;
      throw await this.translate(requests, error);
    }
    this.requestSeal();
    const sealed = await this.watch.waitFor(inserted.map((row) => BigInt(row.seq)));
    let offset = 0;
    return pending.map((events) => sealed.slice(offset, (offset += events.length)));
  }

  /**
   * Facts (ANY_VERSION) answered once committed: durable, sealed within milliseconds after.
   * The hot path of verification: one INSERT statement, nothing else. Given `tx`, the insert runs
   * in the caller's transaction instead (a per-key decision under that key's row lock, say).
   */
  async appendFacts(requests: AppendRequest[], tx?: SqlClient): Promise<void> {
    if (requests.some((r) => r.expectedVersion !== ANY_VERSION)) throw new RangeError("appendFacts takes ANY_VERSION appends only");
    const pending = requests.map((request) => this.prepare(request));
    if (pending.every((events) => events.length === 0)) return;
    if (tx) {
      await this.insert(requests, pending, tx);
      return; // the sealer finds it within its idle pause once the caller commits
    }
    try {
      await this.insert(requests, pending);
    } catch (error) {
      if (await this.alreadyAppended(requests, pending, error)) return;
      throw error;
    }
    this.sealer.wake();
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

  /**
   * One INSERT for every event of every request. A decision's first event requires the version it
   * was decided on to exist (so a future version cannot leave a hole); the unique (stream,
   * version) index rejects a stale one. Together they make optimistic concurrency exact.
   */
  private async insert(requests: AppendRequest[], pending: PendingEvent[][], within?: SqlClient): Promise<InsertedRow[]> {
    const all = pending.flat();
    const requires = pending.flatMap((events, r) =>
      events.map((_, index) => (index === 0 && requests[r]!.expectedVersion !== ANY_VERSION ? (requests[r]!.expectedVersion as number) : null)),
    );
    const statement = (sql: SqlClient) =>
      sql.query<InsertedRow>(
        `INSERT INTO event_records (event_id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at)
         SELECT u.event_id, u.stream_id, u.stream_version, u.type, u.schema_version, u.data, u.metadata, u.occurred_at
           FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::int[], $6::jsonb[], $7::jsonb[], $8::timestamptz[], $9::int[])
                WITH ORDINALITY AS u(event_id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at, requires, n)
          WHERE u.requires IS NULL OR u.requires = 0
             OR EXISTS (SELECT 1 FROM event_records e WHERE e.stream_id = u.stream_id AND e.stream_version = u.requires)
          ORDER BY u.n
         RETURNING seq::text AS seq, event_id`,
        [
          all.map((e) => e.eventId),
          all.map((e) => e.streamId),
          all.map((e) => e.streamVersion),
          all.map((e) => e.type),
          all.map((e) => e.schemaVersion),
          all.map((e) => JSON.stringify(e.data)),
          all.map((e) => JSON.stringify(e.metadata)),
          all.map((e) => e.occurredAt.toISOString()),
          requires,
        ],
      );
    if (requires.every((r) => r === null || r === 0)) return (await statement(within ?? this.db)).rows;
    // A version guard may leave some rows out: then none may be written.
    return this.db.transaction(async (tx) => {
      const { rows } = await statement(tx);
      if (rows.length === all.length) return rows;
      const written = new Set(rows.map((row) => row.event_id));
      const stale = pending.findIndex((events) => events.length > 0 && !written.has(events[0]!.eventId));
      const request = requests[stale]!;
      throw new ConcurrencyError(request.streamId, request.expectedVersion as number, await currentVersion(tx, request.streamId));
    });
  }

  /** Wakes the sealer: here if this process holds it, else through a NOTIFY outside any writer's transaction. */
  private requestSeal(): void {
    if (this.sealer.isLeader) return this.sealer.wake();
    if (this.requesting) return; // one request in flight wakes the sealer for every row committed before it
    this.requesting = true;
    void this.db
      .query("SELECT pg_notify($1, '')", [SEAL_REQUEST_CHANNEL])
      .catch(() => {})
      .finally(() => (this.requesting = false));
  }

  /** An append retried with the same event ids after it committed is answered with what was written. */
  private async alreadyAppended(
    requests: AppendRequest[],
    pending: PendingEvent[][],
    error: unknown,
  ): Promise<RecordedEvent[][] | undefined> {
    if (sqlState(error) !== UNIQUE_VIOLATION) return undefined;
    const supplied = requests.flatMap((r) => r.events.flatMap((e) => (e.eventId ? [e.eventId] : [])));
    if (supplied.length === 0) return undefined;
    const ids = pending.flat().map((e) => e.eventId);
    const { rows } = await this.db.query<{ seq: string; event_id: string; type: string }>(
      `SELECT seq::text AS seq, event_id, type FROM event_records WHERE event_id = ANY($1::uuid[])`,
      [ids],
    );
    if (rows.length === 0) return undefined;
    const byId = new Map(rows.map((row) => [row.event_id, row]));
    const mismatch = pending.flat().filter((e) => byId.get(e.eventId)?.type !== e.type);
    if (mismatch.length > 0) throw new DuplicateEventError(mismatch.map((e) => e.eventId));
    const sealed = await this.watch.waitFor(rows.map((row) => BigInt(row.seq)));
    const sealedById = new Map(sealed.map((event) => [event.eventId, event]));
    return pending.map((events) => events.map((e) => sealedById.get(e.eventId)!));
  }

  private async translate(requests: AppendRequest[], error: unknown): Promise<unknown> {
    if (sqlState(error) !== UNIQUE_VIOLATION) return error;
    const constraint = (error as { constraint?: string }).constraint ?? String((error as Error).message);
    if (!constraint.includes("events_stream_version_key")) return error;
    const request = requests.find((r) => r.expectedVersion !== ANY_VERSION) ?? requests[0]!;
    return new ConcurrencyError(request.streamId, request.expectedVersion as number, await currentVersion(this.db, request.streamId));
  }

  /**
   * A stream's sealed events in order; `decisionsOnly` leaves out facts (a hot key's many KeyUsed).
   * Events already committed are waited for until sealed, so a decision is never made on a stale version.
   */
  async readStream(streamId: string, options: { decisionsOnly?: boolean } = {}): Promise<RecordedEvent[]> {
    for (;;) {
      const { rows } = await this.db.query<EventRow & { seq: string }>(
        `SELECT r.seq::text AS seq, ${SEALED_RECORD_COLUMNS}
           FROM event_records r LEFT JOIN event_seals s ON s.seq = r.seq
          WHERE r.stream_id = $1 ${options.decisionsOnly ? "AND r.stream_version IS NOT NULL" : ""}
          ORDER BY ${options.decisionsOnly ? "r.stream_version" : "s.position"}`,
        [streamId],
      );
      const unsealed = rows.filter((row) => row.position === null).map((row) => BigInt(row.seq));
      if (unsealed.length === 0) return rows.map(toRecordedEvent);
      this.requestSeal();
      await this.watch.waitFor(unsealed);
    }
  }

  /** Events after `afterPosition`, in position order. Exact: it never skips or repeats an event. */
  readAll(afterPosition: bigint, limit: number): Promise<RecordedEvent[]> {
    return readLogPage(this.db, afterPosition, limit);
  }

  async head(): Promise<LogHead> {
    return readHead(this.db);
  }

  /** Calls `onAppend` after any process seals events (payload: the last position), and after a reconnect. */
  onAppend(onAppend: (lastPosition: bigint | undefined) => void): Promise<Unlisten> {
    return this.db.listen(EVENTS_CHANNEL, (payload) => onAppend(payload ? BigInt(payload.split(" ")[0]!) : undefined));
  }

  /** Calls `listener` after each batch this process seals, once committed (lag measurements, tests). */
  onSealed(listener: (events: readonly RecordedEvent[]) => void): () => void {
    return this.sealer.onSealed((batch) => listener(batch.events));
  }

  /** Stops this database's sealer (shared by its stores): call before closing the database. */
  close(): Promise<void> {
    return this.sealer.stop();
  }
}

/** A stream's version as committed (sealed or not). */
async function currentVersion(sql: SqlClient, streamId: string): Promise<number> {
  const { rows } = await sql.query<{ version: number }>(
    `SELECT COALESCE(MAX(stream_version), 0)::int AS version FROM event_records WHERE stream_id = $1 AND stream_version IS NOT NULL`,
    [streamId],
  );
  return rows[0]?.version ?? 0;
}
