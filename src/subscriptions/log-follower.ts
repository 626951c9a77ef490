import type { ApiKey } from "../db/generated/prisma/client.js";
import type { Database } from "../db/database.js";
import type { EventStore } from "../eventstore/event-store.js";
import type { RecordedEvent } from "../eventstore/types.js";
import type { Logger } from "../server/logger.js";

/** A batch of new events as every subscriber of this process sees it, with the keys they touch. */
export interface FollowedBatch {
  events: readonly RecordedEvent[];
  /** Current rows of the keys these events touch, loaded once per batch for all subscribers. */
  keys: ReadonlyMap<string, ApiKey>;
}

export type BatchListener = (batch: FollowedBatch) => void;

export interface LogFollowerOptions {
  pollIntervalMs?: number;
  batchSize?: number;
  keyCacheSize?: number;
}

/**
 * One per process: follows the log from where it was at start, woken by NOTIFY from any process
 * (and a slow poll, in case a wake-up is lost), reading new events from the table in position
 * order. Fan-out is driven by the log, not by this process's memory of its own appends.
 */
export class LogFollower {
  private readonly listeners = new Set<BatchListener>();
  private readonly keyCache = new Map<string, ApiKey>();
  private position = 0n;
  /** The highest position a sealer announced (NOTIFY): sealed, so the follower may move to it unread. */
  private sealedUpTo: bigint | undefined;
  private reading: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private unlisten: (() => Promise<void>) | undefined;
  private poll: NodeJS.Timeout | undefined;
  private readonly pollIntervalMs: number;
  private readonly batchSize: number;
  private readonly keyCacheSize: number;

  constructor(
    private readonly store: EventStore,
    private readonly db: Database,
    private readonly logger: Logger,
    options: LogFollowerOptions = {},
  ) {
    this.pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.batchSize = options.batchSize ?? 1_000;
    this.keyCacheSize = options.keyCacheSize ?? 50_000;
  }

  async start(): Promise<void> {
    this.position = (await this.store.head()).position;
    this.unlisten = await this.store.onAppend((lastPosition) => {
      // No payload: the listening connection came back, and announcements may have been lost.
      if (lastPosition === undefined) this.sealedUpTo = undefined;
      else if (this.sealedUpTo === undefined || lastPosition > this.sealedUpTo) this.sealedUpTo = lastPosition;
      this.wake();
    });
    this.poll = setInterval(() => {
      this.sealedUpTo = undefined; // the poll covers lost announcements: it reads the head
      this.wake();
    }, this.pollIntervalMs);
    this.poll.unref();
  }

  /** The last position dispatched to listeners: a subscriber attached now receives everything after it. */
  get dispatchedPosition(): bigint {
    return this.position;
  }

  private started = 0;

  get subscriberCount(): number {
    return this.listeners.size;
  }

  /** How many subscriptions were ever attached (monotonic; lets tests wait for one more). */
  get subscriptionsStarted(): number {
    return this.started;
  }

  subscribe(listener: BatchListener): () => void {
    this.listeners.add(listener);
    this.started++;
    return () => this.listeners.delete(listener);
  }

  /** Resolves once every event committed before the call has been dispatched. */
  async catchUp(): Promise<void> {
    this.wake();
    while (this.reading) await this.reading;
  }

  wake(): void {
    if (this.stopped) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.readAll().finally(() => {
      this.reading = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  private async readAll(): Promise<void> {
    try {
      for (;;) {
        if (this.listeners.size === 0 && (await this.skipUnwatched())) return;
        const events = await this.store.readSealed(this.position, this.batchSize);
        if (events.length === 0 || this.stopped) return;
        for (const event of events) if (event.streamVersion !== null) this.keyCache.delete(event.streamId);
        const keys = this.listeners.size > 0 ? await this.keysOf(events) : new Map<string, ApiKey>();
        this.position = events.at(-1)!.position;
        const batch: FollowedBatch = { events, keys };
        for (const listener of this.listeners) {
          try {
            listener(batch);
          } catch (error) {
            this.logger.error({ err: error }, "subscription listener failed");
          }
        }
        if (events.length < this.batchSize) return;
      }
    } catch (error) {
      // The next wake-up or poll retries from the same position: nothing is skipped.
      this.logger.warn({ err: error }, "log follower could not read the log; retrying");
    }
  }

  /**
   * With nobody subscribed, moves to the last position a sealer announced (else the head) without
   * reading the events (every verification is one: reading them all back would cost as much as
   * writing them). True when it moved; false when a subscriber attached meanwhile, whose seam is
   * where the follower stood: then it reads them.
   */
  private async skipUnwatched(): Promise<boolean> {
    const position = this.sealedUpTo ?? (await this.store.sealedHead()).position;
    if (this.listeners.size > 0) return false;
    if (position > this.position) {
      this.position = position;
      this.keyCache.clear(); // the skipped events may have changed cached keys
    }
    return true;
  }

  /** Rows of the keys a batch touches: cached (entries of changed keys were dropped), loaded on a miss. */
  private async keysOf(events: readonly RecordedEvent[]): Promise<Map<string, ApiKey>> {
    const touched = new Set(events.map((event) => event.streamId));
    const stale = [...touched].filter((id) => !this.keyCache.has(id));
    if (stale.length > 0) {
      const rows = await this.db.prisma.apiKey.findMany({ where: { id: { in: stale } } });
      for (const row of rows) this.keyCache.set(row.id, row);
      while (this.keyCache.size > this.keyCacheSize) this.keyCache.delete(this.keyCache.keys().next().value!);
    }
    const keys = new Map<string, ApiKey>();
    for (const id of touched) {
      const row = this.keyCache.get(id);
      if (row) keys.set(id, row);
    }
    return keys;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.poll) clearInterval(this.poll);
    await this.unlisten?.();
    await this.reading;
  }
}
