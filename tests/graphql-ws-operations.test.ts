import { describe, expect, it } from "vitest";
import type { Client } from "graphql-ws";
import { CreateKeyDocument, OnKeyUsedDocument, VerifyDocument } from "./generated/graphql.js";
import { clientFor, tokenFor } from "./support/clients.js";
import { backendName } from "./support/databases.js";
import { useTestServer } from "./support/server.js";
import { collect, wsClient } from "./support/subscriptions.js";

type Outcome = { errors: Array<{ message: string; extensions?: Record<string, unknown> }>; via: "error" | "next" };

/** Runs one operation on `client` and reports how it failed: an `error` message for its id, or a result with errors. */
function failureOf(client: Client, query: string, variables?: Record<string, unknown>): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    client.subscribe(
      { query, variables },
      {
        next: (result) => (result.errors ? resolve({ errors: result.errors as Outcome["errors"], via: "next" }) : reject(new Error("expected a failure"))),
        error: (errors) => resolve({ errors: errors as Outcome["errors"], via: "error" }),
        complete: () => {},
      },
    );
  });
}

describe(`graphql-ws: one bad operation fails alone (${backendName})`, () => {
  const server = useTestServer();

  it("answers bad operations with their codes while the socket and its subscription live on", async () => {
    const alice = await clientFor(server.url, "alice");
    const gateway = await clientFor(server.url, "gw", ["gateway"]);
    const { secret, apiKey } = await (await alice.request(CreateKeyDocument, { input: { service: "SMS", name: "ws" } })).createApiKey;

    const ws = wsClient(server.url, await tokenFor("alice"));
    let closes = 0;
    ws.on("closed", () => closes++);
    const base = server.services.follower.subscriptionsStarted;
    const live = collect(ws, OnKeyUsedDocument, {});
    await expect.poll(() => server.services.follower.subscriptionsStarted, { timeout: 5_000 }).toBeGreaterThan(base);

    const unparsable = await failureOf(ws, "subscription { keyUsed { keyId }");
    expect(unparsable.via).toBe("error");
    expect(unparsable.errors[0]!.extensions?.code).toBe("GRAPHQL_PARSE_FAILED");

    const invalid = await failureOf(ws, "subscription { keyUsed { keyIdd } }");
    expect(invalid.via).toBe("error");
    expect(invalid.errors[0]!.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(invalid.errors[0]!.message).not.toMatch(/did you mean/i);

    const badVariable = await failureOf(ws, "subscription($s: Service) { keyUsed(service: $s) { keyId } }", { s: "sms" });
    expect(badVariable.errors[0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "service", variable: "s" });

    const tooCostly = await failureOf(ws, `{ ${Array.from({ length: 16 }, (_, i) => `h${i}: health { ok }`).join(" ")} }`);
    expect(tooCostly.errors[0]!.extensions).toMatchObject({ code: "GRAPHQL_VALIDATION_FAILED", limit: "aliases" });

    // The subscription started before still delivers, on the same socket, and a new operation runs.
    await gateway.request(VerifyDocument, { input: { key: secret, service: "SMS" } });
    await expect.poll(() => live.items.length, { timeout: 5_000 }).toBe(1);
    expect(live.items[0]!.keyUsed.keyId).toBe(apiKey.id);
    const health = await new Promise<unknown>((resolve, reject) => {
      let value: unknown;
      ws.subscribe({ query: "{ health { ok } }" }, { next: (v) => (value = v), error: reject, complete: () => resolve(value) });
    });
    expect(health).toEqual({ data: { health: { ok: true } } });
    expect(live.errors).toEqual([]);
    expect(closes).toBe(0);
    await ws.dispose();
  });
});
