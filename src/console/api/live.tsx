import { useQueryClient } from "@tanstack/react-query";
import { createClient, type Client } from "graphql-ws";
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from "react";
import type { TypedDocumentString } from "../generated/graphql";

export type LiveState = "connecting" | "live" | "reconnecting";

const LiveContext = createContext<{ client: Client | null; state: LiveState }>({ client: null, state: "connecting" });

function socketUrl(): string {
  const url = new URL("/graphql", window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

/**
 * One graphql-ws connection per signed-in token. It retries for ever with graphql-ws's backoff,
 * and after every reconnection refetches what is on screen: events sent while the socket was
 * down are not replayed by keyUsed/keyChanged, so a refetch is how the page catches up.
 */
export function LiveProvider({ token, children }: { token: string; children: ReactNode }) {
  const queryClient = useQueryClient();
  const [value, setValue] = useState<{ client: Client | null; state: LiveState }>({ client: null, state: "connecting" });
  // graphql-ws gives up on close codes it deems fatal (1011, 4500…); a fresh client then starts over.
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    let connectedBefore = generation > 0;
    const client = createClient({
      url: socketUrl(),
      connectionParams: { authorization: `Bearer ${token}` },
      lazy: false,
      keepAlive: 10_000,
      connectionAckWaitTimeout: 10_000,
      retryAttempts: Number.POSITIVE_INFINITY,
      // Exponential backoff capped at 10 s, with jitter so that restarted servers are not stampeded.
      retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(1_000 * 2 ** retries, 10_000) + Math.random() * 1_000)),
      shouldRetry: () => true,
      onNonLazyError: () => setTimeout(() => setGeneration((g) => g + 1), 5_000),
      on: {
        connected: () => {
          if (connectedBefore) void queryClient.invalidateQueries();
          connectedBefore = true;
          setValue({ client, state: "live" });
        },
        closed: () => setValue({ client, state: connectedBefore ? "reconnecting" : "connecting" }),
      },
    });
    setValue({ client, state: connectedBefore ? "reconnecting" : "connecting" });
    return () => void client.dispose();
  }, [token, queryClient, generation]);

  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

export const useLiveState = () => useContext(LiveContext).state;

/** Subscribes while mounted; `onData` always sees the latest render's closure. */
export function useSubscription<R, V>(document: TypedDocumentString<R, V>, variables: V, onData: (data: R) => void): void {
  const { client } = useContext(LiveContext);
  const handler = useRef(onData);
  handler.current = onData;
  const key = JSON.stringify(variables);
  useEffect(() => {
    if (!client) return;
    return client.subscribe<R>(
      { query: document.toString(), variables: JSON.parse(key) as Record<string, unknown> },
      {
        next: (result) => result.data && handler.current(result.data as R),
        error: () => undefined,
        complete: () => undefined,
      },
    );
  }, [client, document, key]);
}
