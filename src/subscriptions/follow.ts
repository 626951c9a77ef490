import { boundedStream, type BoundedStream } from "./bounded-stream.js";
import type { FollowedBatch, LogFollower } from "./log-follower.js";

export const DEFAULT_SUBSCRIPTION_BUFFER = 1_000;

/** A subscription's stream: what `select` picks from each followed batch, bounded by `capacity`. */
export function follow<T>(follower: LogFollower, select: (batch: FollowedBatch) => T[], capacity = DEFAULT_SUBSCRIPTION_BUFFER): BoundedStream<T> {
  let unsubscribe = () => {};
  const stream = boundedStream<T>(capacity, () => unsubscribe());
  unsubscribe = follower.subscribe((batch) => {
    for (const item of select(batch)) stream.push(item);
  });
  return stream;
}
