/**
 * Collects concurrent submissions and hands them to `flush` together: one flush at a time, each
 * taking everything that queued while the previous one ran (up to `maxBatch`). Every submitter
 * still gets its own result, or its batch's error, only after the flush has finished.
 */
export class GroupCommit<Input, Output> {
  private queue: Array<{ input: Input; resolve: (output: Output) => void; reject: (error: unknown) => void }> = [];
  private flushing = false;

  constructor(
    private readonly flush: (inputs: Input[]) => Promise<Output[]>,
    private readonly maxBatch = 500,
  ) {}

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
        // Let callers whose requests are still in I/O or crypto callbacks join this batch. PGlite
        // answers in microtasks, so without this yield every batch would hold a single caller.
        await new Promise((resolve) => setImmediate(resolve));
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          const outputs = await this.flush(batch.map((entry) => entry.input));
          batch.forEach((entry, index) => entry.resolve(outputs[index]!));
        } catch (error) {
          for (const entry of batch) entry.reject(error);
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
