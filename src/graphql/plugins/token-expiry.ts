import { GraphQLError, type ExecutionResult } from "graphql";
import { isAsyncIterable, type Plugin } from "graphql-yoga";
import type { Context } from "../context.js";

const LONGEST_TIMER_MS = 2 ** 31 - 1;

/** Resolves at `at` (epoch ms), however far away (setTimeout alone overflows past 24.8 days); `cancel` stops it. */
export function alarm(at: number): { rings: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const rings = new Promise<void>((resolve) => {
    const wait = () => {
      const left = at - Date.now();
      if (left <= 0) return resolve();
      timer = setTimeout(wait, Math.min(left, LONGEST_TIMER_MS)).unref();
    };
    wait();
  });
  return { rings, cancel: () => clearTimeout(timer) };
}

export const tokenExpiredError = () =>
  new GraphQLError("The token has expired: subscribe again with a fresh token", { extensions: { code: "UNAUTHENTICATED" } });

/**
 * The source's results until `at`; then one result with an UNAUTHENTICATED error, and the end.
 * An iterator object rather than an async generator: a generator's return() waits for its pending await, so
 * unsubscribing would hang until the next event. No Promise.race against the alarm either: every race would leave a
 * reaction on the long-pending alarm, growing with each event. At expiry the source is ended instead, which settles
 * its pending next().
 */
function until(source: AsyncIterable<ExecutionResult>, at: number): AsyncIterableIterator<ExecutionResult> {
  const iterator = source[Symbol.asyncIterator]();
  const expiry = alarm(at);
  let expired = false;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    expiry.cancel();
    // Not awaited: ending the source also settles a next() still pending on it.
    void Promise.resolve(iterator.return?.()).catch(() => undefined);
  };
  void expiry.rings.then(() => {
    expired = true;
    void Promise.resolve(iterator.return?.()).catch(() => undefined);
  });
  const done = (): IteratorResult<ExecutionResult> => ({ done: true, value: undefined });
  const expiredResult = (): IteratorResult<ExecutionResult> => {
    finish();
    return { done: false, value: { errors: [tokenExpiredError()] } };
  };
  return {
    async next() {
      if (finished) return done();
      if (expired) return expiredResult();
      const next = await iterator.next();
      if (finished) return done();
      if (expired) return expiredResult();
      if (next.done) finish();
      return next;
    },
    async return() {
      finish();
      return done();
    },
    async throw(error: unknown) {
      finish();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** A subscription ends, with an UNAUTHENTICATED error, when the token it was started with expires (HTTP/SSE and graphql-ws). */
export function useSubscriptionsEndWithToken(): Plugin<Context> {
  return {
    onSubscribe({ args }) {
      const auth = (args.contextValue as Partial<Context>).auth;
      const expiresAt = auth && "viewer" in auth ? auth.viewer.expiresAt : undefined;
      if (expiresAt === undefined) return undefined;
      return {
        onSubscribeResult({ result, setResult }) {
          if (isAsyncIterable(result)) setResult(until(result, expiresAt));
        },
      };
    },
  };
}
