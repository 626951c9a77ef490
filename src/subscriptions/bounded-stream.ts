/** Yielded once, last, by a stream that fell too far behind; the GraphQL layer turns it into an error. */
export const OVERFLOWED = Symbol("overflowed");

export interface BoundedStream<T> extends AsyncIterableIterator<T | typeof OVERFLOWED> {
  push(item: T): void;
  end(): void;
}

/**
 * An async iterator fed by push(). It holds at most `capacity` undelivered items: a consumer that
 * falls further behind gets what was buffered, then OVERFLOWED, and the stream ends, so one slow subscriber can neither
 * stall the others nor grow memory without bound. `onClose` runs once, however it ends.
 */
export function boundedStream<T>(capacity: number, onClose: () => void): BoundedStream<T> {
  const buffer: T[] = [];
  let waiting: ((result: IteratorResult<T | typeof OVERFLOWED>) => void) | undefined;
  let state: "open" | "overflowed" | "ended" = "open";

  const close = () => {
    if (state === "open") state = "ended";
    onClose();
  };

  const stream: BoundedStream<T> = {
    push(item) {
      if (state !== "open") return;
      if (waiting) {
        const resolve = waiting;
        waiting = undefined;
        resolve({ value: item, done: false });
      } else if (buffer.length < capacity) {
        buffer.push(item);
      } else {
        // Keep what is buffered: the consumer gets it, then OVERFLOWED, so it knows where to resume.
        state = "overflowed";
        onClose();
      }
    },
    end() {
      if (state !== "open") return;
      close();
      if (waiting) {
        waiting({ value: undefined, done: true });
        waiting = undefined;
      }
    },
    next() {
      if (buffer.length > 0) return Promise.resolve({ value: buffer.shift()!, done: false });
      if (state === "overflowed") {
        state = "ended";
        return Promise.resolve({ value: OVERFLOWED, done: false });
      }
      if (state === "ended") return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => (waiting = resolve));
    },
    return() {
      buffer.length = 0;
      stream.end();
      state = "ended";
      return Promise.resolve({ value: undefined, done: true });
    },
    throw(error) {
      stream.end();
      return Promise.reject(error);
    },
    [Symbol.asyncIterator]() {
      return stream;
    },
  };
  return stream;
}
