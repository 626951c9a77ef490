/** Where a committed append sits in the order the sealer follows: its transaction id, then its last insertion sequence. */
export interface CommitMark {
  txid: bigint;
  seq: bigint;
}

export const compareMarks = (a: CommitMark, b: CommitMark): number => (a.txid !== b.txid ? (a.txid < b.txid ? -1 : 1) : a.seq === b.seq ? 0 : a.seq < b.seq ? -1 : 1);

/** The sealer's progress as one process knows it, and the appends of this process waiting for it. */
export class SealWatch {
  private cursor: CommitMark = { txid: 0n, seq: 0n };
  private waiters: { mark: CommitMark; resolve: () => void }[] = [];
  /** The latest append this process committed. */
  private localMark: CommitMark | undefined;
  private progress: (() => void)[] = [];

  get waiting(): number {
    return this.waiters.length;
  }

  /** The sealer passed `cursor` (it only moves forward, except after a restore into another cluster). */
  advance(cursor: CommitMark, rebased = false): void {
    if (!rebased && compareMarks(cursor, this.cursor) <= 0) return;
    this.cursor = cursor;
    for (const resolve of this.progress.splice(0)) resolve();
    if (rebased) {
      // Transaction ids restarted: what this process waits for was sealed before the restore or is re-based with it.
      for (const waiter of this.waiters.splice(0)) waiter.resolve();
      return;
    }
    const still: typeof this.waiters = [];
    for (const waiter of this.waiters) {
      if (compareMarks(waiter.mark, cursor) <= 0) waiter.resolve();
      else still.push(waiter);
    }
    this.waiters = still;
  }

  committed(mark: CommitMark): void {
    if (!this.localMark || compareMarks(mark, this.localMark) > 0) this.localMark = mark;
  }

  /** Resolves once the sealer has passed `mark` (or after `timeoutMs`, when given). */
  sealed(mark: CommitMark, timeoutMs?: number): Promise<void> {
    if (compareMarks(mark, this.cursor) <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(resolve, timeoutMs);
      timer?.unref();
      this.waiters.push({
        mark,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** Resolves when the sealer next moves on, or after `timeoutMs`. */
  nextAdvance(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.progress.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Resolves once everything this process committed before the call is sealed: reads after it see this process's writes. */
  caughtUp(timeoutMs?: number): Promise<void> {
    return this.localMark ? this.sealed(this.localMark, timeoutMs) : Promise.resolve();
  }
}
