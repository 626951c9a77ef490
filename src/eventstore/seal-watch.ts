import type { Database } from "../db/database.js";
import { EVENTS_CHANNEL, type Sealer } from "./sealer.js";
import { SEALED_RECORD_COLUMNS, toRecordedEvent, type EventRow } from "./rows.js";
import type { RecordedEvent } from "./types.js";

export class SealTimeoutError extends Error {
  override name = "SealTimeoutError";
}

interface Waiter {
  seqs: bigint[];
  found: Map<bigint, RecordedEvent>;
  resolve: (events: RecordedEvent[]) => void;
  reject: (error: Error) => void;
  deadline: number;
}

/**
 * Lets a writer wait until rows it committed are sealed. Batches sealed in this process are
 * matched in memory; otherwise a NOTIFY from the sealer (or, should one be lost, a short poll)
 * makes it look its rows up in the seals table.
 */
export class SealWatch {
  private readonly waiters = new Set<Waiter>();
  private checking: Promise<void> | undefined;
  private again = false;
  private poll: NodeJS.Timeout | undefined;
  private listening: Promise<void> | undefined;

  constructor(
    private readonly db: Database,
    sealer: Sealer,
    private readonly timeoutMs = 60_000,
    private readonly pollMs = 50,
  ) {
    sealer.onSealed((batch) => {
      batch.seqs.forEach((seq, index) => {
        for (const waiter of this.waiters) if (waiter.seqs.includes(seq)) waiter.found.set(seq, batch.events[index]!);
      });
      this.settleComplete();
    });
  }

  waitFor(seqs: bigint[]): Promise<RecordedEvent[]> {
    this.listening ??= this.db.listen(EVENTS_CHANNEL, () => this.check()).then(
      () => {},
      () => {},
    );
    return new Promise((resolve, reject) => {
      this.waiters.add({ seqs, found: new Map(), resolve, reject, deadline: Date.now() + this.timeoutMs });
      this.poll ??= setInterval(() => this.check(), this.pollMs).unref();
    });
  }

  private settleComplete(): void {
    for (const waiter of this.waiters) {
      if (waiter.found.size === waiter.seqs.length) {
        this.waiters.delete(waiter);
        waiter.resolve(waiter.seqs.map((seq) => waiter.found.get(seq)!));
      } else if (Date.now() > waiter.deadline) {
        this.waiters.delete(waiter);
        waiter.reject(new SealTimeoutError(`Events committed ${this.timeoutMs} ms ago are not sealed yet: is the sealer stalled?`));
      }
    }
    if (this.waiters.size === 0 && this.poll) {
      clearInterval(this.poll);
      this.poll = undefined;
    }
  }

  private check(): void {
    if (this.waiters.size === 0) return;
    if (this.checking) {
      this.again = true;
      return;
    }
    this.checking = this.lookUp()
      .catch(() => {}) // the next notification or poll tries again
      .finally(() => {
        this.checking = undefined;
        if (this.again) {
          this.again = false;
          this.check();
        }
      });
  }

  private async lookUp(): Promise<void> {
    const missing = [...this.waiters].flatMap((w) => w.seqs.filter((seq) => !w.found.has(seq)));
    if (missing.length > 0) {
      const rows = await readSealedBySeq(this.db, missing);
      for (const waiter of this.waiters) for (const seq of waiter.seqs) if (rows.has(seq)) waiter.found.set(seq, rows.get(seq)!);
    }
    this.settleComplete();
  }
}

/** Sealed events by insertion sequence. */
export async function readSealedBySeq(db: Database, seqs: bigint[]): Promise<Map<bigint, RecordedEvent>> {
  const { rows } = await db.query<EventRow & { seq: string }>(
    `SELECT s.seq::text AS seq, ${SEALED_RECORD_COLUMNS}
       FROM event_seals s JOIN event_records r ON r.seq = s.seq
      WHERE s.seq = ANY($1::bigint[])`,
    [seqs.map(String)],
  );
  return new Map(rows.map((row) => [BigInt(row.seq), toRecordedEvent(row)]));
}
