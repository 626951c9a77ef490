import { GraphQLError, type ExecutionResult } from "graphql";
import { isAsyncIterable, type Plugin } from "graphql-yoga";
import type { Context } from "../context.js";

const LONGEST_TIMER_MS = 2 ** 31 - 1;

/** Resolves at `at` (epoch ms), however far away; `cancel` stops it. */
function alarm(at: number): { rings: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const rings = new Promise<void>((resolve) => {
    const wait = () => {
      const left = at - Date.now();
      if (left <= 0) return resolve();
      timer = setTimeout(wait, Math.min(left, LONGEST_TIMER_MS));
    };
    wait();
  });
  return { rings, cancel: () => clearTimeout(timer) };
}

export const tokenExpiredError = () =>
  new GraphQLError("The token has expired: subscribe again with a fresh token", { extensions: { code: "UNAUTHENTICATED" } });

/** The source's results until `at`; then one result with an UNAUTHENTICATED error, and the end. */
async function* until(source: AsyncIterable<ExecutionResult>, at: number): AsyncGenerator<ExecutionResult> {
  const iterator = source[Symbol.asyncIterator]();
  const expiry = alarm(at);
  const expired = expiry.rings.then(() => "expired" as const);
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), expired]);
      if (next === "expired") {
        yield { errors: [tokenExpiredError()] };
        return;
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    expiry.cancel();
    // Not awaited: a source waiting for its next event may only settle then.
    void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
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
