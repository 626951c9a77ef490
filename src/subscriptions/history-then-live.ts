import { LOG_PAGE_SIZE } from "../eventstore/log-reader.js";
import type { RecordedEvent } from "../eventstore/types.js";
import { OVERFLOWED } from "./bounded-stream.js";
import { follow } from "./follow.js";
import type { FollowedBatch, LogFollower } from "./log-follower.js";


export interface HistoryThenLive {
  follower: LogFollower;
  /** Resume after this position; undefined: live from now. */
  after: bigint | undefined;
  /** A page of matching history after a position, in position order (the same filter as `matches`). */
  readHistory(after: bigint, limit: number): Promise<RecordedEvent[]>;
  /** Whether a live event belongs to this stream; `keys` are the batch's key rows. */
  matches(event: RecordedEvent, keys: FollowedBatch["keys"]): boolean;
  capacity: number;
}

/**
 * History from `after`, then live, with no gap or duplicate at the seam: the live feed is
 * attached first (it holds everything past the follower's position at that moment), history is
 * read up to at least that position, and live events at or below the last one sent are dropped.
 */
export async function* historyThenLive(options: HistoryThenLive): AsyncGenerator<RecordedEvent | typeof OVERFLOWED> {
  const { follower, readHistory, matches, capacity } = options;
  const live = follow(follower, ({ events, keys }) => events.filter((event) => matches(event, keys)), capacity);
  try {
    const seam = follower.dispatchedPosition;
    let last = options.after ?? seam;
    if (last < seam) {
      for (;;) {
        const page = await readHistory(last, LOG_PAGE_SIZE);
        for (const event of page) {
          last = event.position;
          yield event;
        }
        if (page.length < LOG_PAGE_SIZE) break;
      }
      // The history read everything committed up to the seam; what matched is sent.
      if (last < seam) last = seam;
    }
    for await (const event of live) {
      if (event === OVERFLOWED) {
        yield OVERFLOWED;
        return;
      }
      if (event.position <= last) continue;
      last = event.position;
      yield event;
    }
  } finally {
    await live.return?.();
  }
}
