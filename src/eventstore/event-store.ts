import { randomUUID } from "node:crypto";
import { isDatabaseUnavailable, sqlState, UNIQUE_VIOLATION, type Database, type SqlClient, type Unlisten } from "../db/database.js";
import { ConcurrencyError, DuplicateEventError } from "./errors.js";
import { chainHash } from "./hash-chain.js";
import { readHead, readLogPage } from "./log-reader.js";
import type { InlineProjection } from "./projection-hook.js";
import { EVENT_COLUMNS, toRecordedEvent, type EventRow } from "./rows.js";
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

export interface EventStoreOptions {
  projections?: InlineProjection[];
  clock?: () => Date;
}

export const EVENTS_CHANNEL = "keyledger_events";

/** Serialises appends (and so the order of positions) across every connection and process. */
export const APPEND_LOCK = 0x6b6c6467; // "kldg"

/** How long an append whose commit was cut off waits for the database to come back to learn its outcome. */
const OUTCOME_WAIT_MS = 20_000;

export class EventStore {
  private readonly projections: InlineProjection[];
  private readonly clock: () => Date;
  /** The ids appended in each open transaction of `transaction()`, to learn a lost commit's outcome. */
  private readonly appendedIn = new WeakMap<SqlClient, string[]>();

  constructor(
    private readonly db: Database,
    options: EventStoreOptions = {},
  ) {
    this.projections = options.projections ?? [];
    this.clock = options.clock ?? (() => new Date());
  }

  /**
   * Appends `events` to one stream in one transaction. With a numeric `expectedVersion` a stale
   * decision throws ConcurrencyError and writes nothing; ANY_VERSION appends facts that never conflict.
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

  /** Several appends in one transaction (group commit): all are written, or none. */
  async appendMany(requests: AppendRequest[]): Promise<RecordedEvent[][]> {
    const pending = requests.map((request) => this.prepare(request));
    const all = pending.flat();
    if (all.length === 0) return requests.map(() => []);
    try {
      const recorded = await this.transaction((tx) => {
        this.appendedIn.get(tx)?.push(all[0]!.eventId);
        return this.write(tx, requests, all);
      });
      let offset = 0;
      return pending.map((events) => recorded.slice(offset, (offset += events.length)));
    } catch (error) {
      const replay = await this.alreadyAppended(requests, pending, error);
      if (replay) return replay;
      throw error;
    }
  }

  /**
   * Runs `work` in one transaction, in which it appends with `appendWithin`. When the connection
   * is lost while the transaction commits, whether it committed is unknown: the store then waits
   * for the database to come back and looks for the first event it appended, so that a caller is
   * never told "nothing happened" about a change that was made (nor the other way round).
   */
  async transaction<T>(work: (tx: SqlClient) => Promise<T>): Promise<T> {
    const appended: string[] = [];
    let finished: { value: T } | undefined;
    try {
      return await this.db.transaction(async (tx) => {
        this.appendedIn.set(tx, appended);
        const value = await work(tx);
        finished = { value };
        return value;
      });
    } catch (error) {
      if (!finished || appended.length === 0 || !isDatabaseUnavailable(error)) throw error;
      if (await this.wasCommitted(appended[0]!, error)) return finished.value;
      throw error;
    }
  }

  /** Whether the event was written, asked until the database answers (then rethrows `cause`). */
  private async wasCommitted(eventId: string, cause: unknown): Promise<boolean> {
    const deadline = Date.now() + OUTCOME_WAIT_MS;
    for (;;) {
      try {
        const { rows } = await this.db.query(`SELECT 1 FROM events WHERE event_id = $1`, [eventId]);
        return rows.length > 0;
      } catch (error) {
        if (!isDatabaseUnavailable(error) || Date.now() > deadline) throw cause;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  /**
   * Appends inside the caller's transaction, for writers that lock rows of their own first (the
   * key limits a verification or a credit change decides on). Those locks must be taken before
   * this call: the append lock comes last, so lockers never wait on each other in a cycle.
   */
  async appendWithin(tx: SqlClient, requests: AppendRequest[]): Promise<RecordedEvent[][]> {
    const pending = requests.map((request) => this.prepare(request));
    const all = pending.flat();
    if (all.length === 0) return requests.map(() => []);
    this.appendedIn.get(tx)?.push(all[0]!.eventId);
    let recorded: RecordedEvent[];
    try {
      recorded = await this.write(tx, requests, all);
    } catch (error) {
      throw sqlState(error) === UNIQUE_VIOLATION ? this.translateUniqueViolation(requests, error) : error;
    }
    let offset = 0;
    return pending.map((events) => recorded.slice(offset, (offset += events.length)));
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

  private async write(tx: SqlClient, requests: AppendRequest[], events: PendingEvent[]): Promise<RecordedEvent[]> {
    await this.checkVersions(tx, requests);

    // Positions and chain hashes are decided under the lock, held from here to commit, so
    // positions become visible in exactly their numeric order.
    // The head is read in a statement of its own so that its snapshot is taken after the lock.
    await tx.query("SELECT pg_advisory_xact_lock($1)", [APPEND_LOCK]);
    const head = await readHead(tx);
    let previousHash = head.hash;
    let position = head.position;
    const recorded = events.map((event) => {
      position += 1n;
      const hash = chainHash(previousHash, { ...event, position });
      previousHash = hash;
      return { ...event, position, hash };
    });
    await insertEvents(tx, recorded);
    for (const projection of this.projections) await projection.apply(tx, recorded);
    await tx.query("SELECT pg_notify($1, $2)", [EVENTS_CHANNEL, position.toString()]);
    return recorded;
  }

  /**
   * Versions only grow, so checking before the lock is exact together with the unique
   * (stream, version) index: a stream that moves on after this check fails the insert.
   */
  private async checkVersions(tx: SqlClient, requests: AppendRequest[]): Promise<void> {
    const decisions = requests.filter((r) => r.expectedVersion !== ANY_VERSION && r.events.length > 0);
    if (decisions.length === 0) return;
    const { rows } = await tx.query<{ stream_id: string; version: number }>(
      `SELECT s.stream_id, COALESCE(MAX(e.stream_version), 0)::int AS version
         FROM unnest($1::text[]) AS s(stream_id)
         LEFT JOIN events e ON e.stream_id = s.stream_id
        GROUP BY s.stream_id`,
      [decisions.map((r) => r.streamId)],
    );
    const actual = new Map(rows.map((row) => [row.stream_id, row.version]));
    for (const request of decisions) {
      const version = actual.get(request.streamId) ?? 0;
      if (version !== request.expectedVersion) {
        throw new ConcurrencyError(request.streamId, request.expectedVersion as number, version);
      }
    }
  }

  /** An append retried with the same event ids after it committed is answered with what was written. */
  private async alreadyAppended(
    requests: AppendRequest[],
    pending: PendingEvent[][],
    error: unknown,
  ): Promise<RecordedEvent[][] | undefined> {
    const supplied = requests.flatMap((r) => r.events.flatMap((e) => (e.eventId ? [e.eventId] : [])));
    if (supplied.length === 0) {
      if (sqlState(error) === UNIQUE_VIOLATION) throw this.translateUniqueViolation(requests, error);
      return undefined;
    }
    const ids = pending.flat().map((e) => e.eventId);
    const { rows } = await this.db.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE event_id = ANY($1::uuid[])`,
      [ids],
    );
    if (rows.length === 0) {
      if (sqlState(error) === UNIQUE_VIOLATION) throw this.translateUniqueViolation(requests, error);
      return undefined;
    }
    const byId = new Map(rows.map((row) => [row.event_id, toRecordedEvent(row)]));
    const mismatch = pending.flat().filter((e) => byId.get(e.eventId)?.type !== e.type);
    if (mismatch.length > 0) throw new DuplicateEventError(mismatch.map((e) => e.eventId));
    return pending.map((events) => events.map((e) => byId.get(e.eventId)!));
  }

  private translateUniqueViolation(requests: AppendRequest[], error: unknown): Error {
    const constraint = (error as { constraint?: string }).constraint ?? String((error as Error).message);
    if (constraint.includes("events_stream_version_key")) {
      const request = requests.find((r) => r.expectedVersion !== ANY_VERSION) ?? requests[0]!;
      return new ConcurrencyError(request.streamId, request.expectedVersion as number, undefined);
    }
    return error as Error;
  }

  /** A stream's events in order; `decisionsOnly` leaves out facts (a hot key's many KeyUsed). */
  async readStream(streamId: string, options: { decisionsOnly?: boolean; sql?: SqlClient } = {}): Promise<RecordedEvent[]> {
    const { rows } = await (options.sql ?? this.db).query<EventRow>(
      options.decisionsOnly
        ? `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND stream_version IS NOT NULL ORDER BY stream_version`
        : `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY events.position`,
      [streamId],
    );
    return rows.map(toRecordedEvent);
  }

  /** Events after `afterPosition`, in position order. Exact: it never skips or repeats an event. */
  readAll(afterPosition: bigint, limit: number): Promise<RecordedEvent[]> {
    return readLogPage(this.db, afterPosition, limit);
  }

  async head(): Promise<LogHead> {
    return readHead(this.db);
  }

  /** Calls `onAppend` after any process commits events (payload: the last position), and after a reconnect. */
  onAppend(onAppend: (lastPosition: bigint | undefined) => void): Promise<Unlisten> {
    return this.db.listen(EVENTS_CHANNEL, (payload) => onAppend(payload ? BigInt(payload) : undefined));
  }
}

async function insertEvents(tx: SqlClient, events: RecordedEvent[]): Promise<void> {
  await tx.query(
    `INSERT INTO events (position, event_id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at, hash)
     SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::int[], $5::text[], $6::int[],
                          $7::jsonb[], $8::jsonb[], $9::timestamptz[], $10::text[])`,
    [
      events.map((e) => e.position.toString()),
      events.map((e) => e.eventId),
      events.map((e) => e.streamId),
      events.map((e) => e.streamVersion),
      events.map((e) => e.type),
      events.map((e) => e.schemaVersion),
      events.map((e) => JSON.stringify(e.data)),
      events.map((e) => JSON.stringify(e.metadata)),
      events.map((e) => e.occurredAt.toISOString()),
      events.map((e) => e.hash),
    ],
  );
}
