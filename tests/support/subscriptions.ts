import { createClient, type Client } from "graphql-ws";
import { print } from "graphql";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import WebSocket from "ws";

export function wsClient(httpUrl: string, token: string | undefined): Client {
  return createClient({
    url: httpUrl.replace(/^http/, "ws"),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
  });
}

export interface Collected<T> {
  items: T[];
  errors: unknown[];
  done: boolean;
  /** Resolves when the server acknowledged the subscription by having it running (after a short settle). */
  stop(): void;
}

/** Subscribes and collects every result's data until stopped. */
export function collect<T, V extends Record<string, unknown>>(client: Client, document: TypedDocumentNode<T, V>, variables: V): Collected<T> {
  const collected: Collected<T> = { items: [], errors: [], done: false, stop: () => {} };
  collected.stop = client.subscribe(
    { query: print(document), variables },
    {
      next: (result) => {
        if (result.errors) collected.errors.push(...result.errors);
        if (result.data) collected.items.push(result.data as T);
      },
      error: (error) => {
        collected.errors.push(error);
        collected.done = true;
      },
      complete: () => {
        collected.done = true;
      },
    },
  );
  return collected;
}
