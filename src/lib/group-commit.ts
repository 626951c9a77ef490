/** The most event-loop turns a flush waits for callers to join it. */
const MAX_JOIN_TURNS = 16;

interface Entry<Input, Output> {
  input: Input;
  resolve: (output: Output) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitOptions {
  maxBatch?: number;
  /**
   * Whether a failed flush may be retried in halves so that only the entries that cannot be
   * processed fail (default: always). Say no for failures that would fail every retry alike,
   * such as an unreachable database: retrying would only multiply the load.
   */
  isolate?: (error: unknown) => boolean;
  /** Called with the size of every flush, retries included (metrics). */
  onFlush?: (size: number) => void;
}

/**
 * Collects concurrent submissions and hands them to `flush` together: one flush at a time, each
 * taking everything that queued while the previous one ran (up to `maxBatch`). Every submitter
 * still gets its own result only after the flush has finished.
 *
 * `flush` must be all-or-nothing (one transaction): when it throws, nothing of the batch was
 * written, so the entries are flushed again in halves, down to single entries. One submitter's
 * poisoned input then fails alone and the rest of its batch succeeds.
 */
export class GroupCommit<Input, Output> {
  private queue: Array<Entry<Input, Output>> = [];
  private flushing = false;
  private readonly maxBatch: number;
  private readonly isolate: (error: unknown) => boolean;
  private readonly onFlush: (size: number) => void;

  constructor(
    private readonly flush: (inputs: Input[]) => Promise<Output[]>,
    options: GroupCommitOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 500;
    this.isolate = options.isolate ?? (() => true);
    this.onFlush = options.onFlush ?? (() => {});
  }

  submit(input: Input): Promise<Output> {
    return new Promise<Output>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.flushing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        await this.letCallersJoin();
        await this.run(this.queue.splice(0, this.maxBatch));
      }
    } finally {
      this.flushing = false;
    }
  }

  /**
   * Lets callers whose requests are still in I/O or crypto callbacks join this batch: one turn of
   * the event loop, then more for as long as each turn brings more callers (requests that pass
   * through several asynchronous steps, such as GraphQL's, arrive spread over a few turns). PGlite
   * answers in microtasks, so without this every batch would hold a single caller.
   */
  private async letCallersJoin(): Promise<void> {
    for (let turn = 0; turn < MAX_JOIN_TURNS && this.queue.length < this.maxBatch; turn++) {
      const waiting = this.queue.length;
      await new Promise((resolve) => setImmediate(resolve));
      if (this.queue.length === waiting) return;
    }
  }

  private async run(batch: Array<Entry<Input, Output>>): Promise<void> {
    this.onFlush(batch.length);
    let outputs: Output[];
    try {
      outputs = await this.flush(batch.map((entry) => entry.input));
    } catch (error) {
      if (batch.length === 1 || !this.isolate(error)) {
        for (const entry of batch) entry.reject(error);
        return;
      }
      const middle = Math.ceil(batch.length / 2);
      await this.run(batch.slice(0, middle));
      await this.run(batch.slice(middle));
      return;
    }
    batch.forEach((entry, index) => entry.resolve(outputs[index]!));
  }
}
