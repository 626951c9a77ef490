import { describe, expect, it } from "vitest";
import { createClient } from "graphql-ws";
import { SignJWT } from "jose";
import WebSocket from "ws";
import { ConfigError, loadConfig } from "../src/config.js";
import { createTokenVerifier, MAX_TOKEN_LENGTH, signToken } from "../src/auth/tokens.js";
import { ListKeysDocument, OnKeyUsedDocument } from "./generated/graphql.js";
import { clientWithHeader, graphQLErrorOf, tokenFor } from "./support/clients.js";
import { backendName } from "./support/databases.js";
import { TEST_JWT_SECRET, useTestServer } from "./support/server.js";
import { collect, wsClient } from "./support/subscriptions.js";

const secret = new TextEncoder().encode(TEST_JWT_SECRET);
const now = () => Math.floor(Date.now() / 1000);
const claims = (roles: unknown = ["owner"]) => new SignJWT({ roles }).setProtectedHeader({ alg: "HS256" }).setSubject("alice");

/** The close code a graphql-ws connection with these connectionParams ends with. */
function closeCodeFor(url: string, connectionParams: Record<string, unknown>): Promise<number> {
  return new Promise((resolve) => {
    const client = createClient({
      url: url.replace("http", "ws"),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams,
      on: { closed: (event) => resolve((event as { code: number }).code) },
    });
    client.subscribe({ query: "subscription { keyUsed { keyId } }" }, { next: () => {}, error: () => {}, complete: () => {} });
  });
}

describe(`token policy (${backendName})`, () => {
  const server = useTestServer();

  const list = (token: string) => clientWithHeader(server.url, `Bearer ${token}`).request(ListKeysDocument, {});

  it("refuses tokens without exp, or living longer than JWT_MAX_LIFETIME (24h by default), with UNAUTHENTICATED", async () => {
    const cases: Array<[string, string, RegExp]> = [
      ["no exp", await claims().setIssuedAt().sign(secret), /no expiry/],
      ["exp in 30 days", await claims().setIssuedAt().setExpirationTime("30d").sign(secret), /longer than/],
      ["exp in 25 hours, no iat", await claims().setExpirationTime("25h").sign(secret), /longer than/],
      ["issued 3 days ago, expires in an hour", await claims().setIssuedAt(now() - 3 * 86_400).setExpirationTime(now() + 3600).sign(secret), /longer than/],
    ];
    for (const [name, token, message] of cases) {
      const error = await graphQLErrorOf(list(token));
      expect(error.extensions.code, name).toBe("UNAUTHENTICATED");
      expect(error.message, name).toMatch(message);
      expect(await closeCodeFor(server.url, { authorization: `Bearer ${token}` }), name).toBe(4403);
    }
    const fine = await claims().setIssuedAt().setExpirationTime("23h").sign(secret);
    expect((await list(fine)).apiKeys.totalCount).toBe(0);
  });

  it("refuses a token naming a role that does not exist, rather than making it an owner", async () => {
    for (const roles of [["root"], ["owner", "superuser"], ["Admin"]]) {
      const token = await claims(roles).setExpirationTime("5m").sign(secret);
      const error = await graphQLErrorOf(list(token));
      expect(error.extensions.code, roles.join()).toBe("UNAUTHENTICATED");
      expect(error.message).toMatch(/unknown role/);
    }
    // Without a roles claim a token is still an owner (as documented).
    expect((await list(await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("dora").setExpirationTime("5m").sign(secret))).apiKeys.totalCount).toBe(0);
  });

  it("applies the same size limits to tokens over HTTP and in graphql-ws connectionParams", async () => {
    const huge = "a".repeat(1_000_000);
    const response = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${huge}` },
      body: JSON.stringify({ query: "{ apiKeys { totalCount } }" }),
    });
    expect(response.status).toBe(431);
    expect(await closeCodeFor(server.url, { authorization: `Bearer ${huge}` })).toBe(4403);
    // A message over the 1 MiB limit (as for HTTP bodies) is not even read: 1009 Message Too Big.
    expect(await closeCodeFor(server.url, { authorization: `Bearer ${huge}${huge}` })).toBe(1009);

    // Under node's header limit but over the token limit: refused on both transports.
    const long = `${(await tokenFor("alice")).split(".").slice(0, 2).join(".")}.${"s".repeat(MAX_TOKEN_LENGTH)}`;
    const error = await graphQLErrorOf(list(long));
    expect(error.extensions.code).toBe("UNAUTHENTICATED");
    expect(error.message).toMatch(/too long/);
    expect(await closeCodeFor(server.url, { authorization: `Bearer ${long}` })).toBe(4403);

    // connectionParams stand in for headers: 16 KiB at most, whatever they hold.
    expect(await closeCodeFor(server.url, { authorization: `Bearer ${await tokenFor("alice")}`, padding: "p".repeat(17 * 1024) })).toBe(4403);
  });

  it("closes a graphql-ws connection with 4403 when its token expires", async () => {
    const token = await signToken(TEST_JWT_SECRET, { sub: "alice", expiresIn: "3s" });
    const closed = new Promise<number>((resolve) => {
      const client = wsClient(server.url, token);
      client.on("closed", (event) => resolve((event as { code: number }).code));
      collect(client, OnKeyUsedDocument, {});
    });
    expect(await closed).toBe(4403);
  });

  it("releases a subscription its client stops at once, long before its token expires", async () => {
    const ws = wsClient(server.url, await tokenFor("alice"));
    const base = server.services.follower.subscriberCount;
    const sees = collect(ws, OnKeyUsedDocument, {});
    await expect.poll(() => server.services.follower.subscriberCount, { timeout: 5_000 }).toBe(base + 1);
    sees.stop();
    await expect.poll(() => server.services.follower.subscriberCount, { timeout: 5_000 }).toBe(base);
    await ws.dispose();
  });

  it("ends an SSE subscription with an UNAUTHENTICATED error when its token expires", async () => {
    const token = await signToken(TEST_JWT_SECRET, { sub: "alice", expiresIn: "3s" });
    const response = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: "subscription { keyUsed { keyId } }" }),
    });
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    // The body ends by itself: read it to the end.
    const text = await response.text();
    expect(text).toMatch(/event: next\ndata: .*"code":"UNAUTHENTICATED"/);
    expect(text).toContain("token has expired");
    expect(text).toMatch(/event: complete/);
  });
});

describe("token policy settings", () => {
  const verifierFor = (env: Record<string, string>) => createTokenVerifier(loadConfig({ JWT_SECRET: TEST_JWT_SECRET, ...env }).jwt);

  it("accepts tokens without exp only when JWT_REQUIRE_EXP=false", async () => {
    const token = await claims().sign(secret);
    await expect(verifierFor({})(token)).rejects.toThrow(/no expiry/);
    await expect(verifierFor({ JWT_REQUIRE_EXP: "false" })(token)).resolves.toMatchObject({ userId: "alice", expiresAt: undefined });
  });

  it("takes JWT_MAX_LIFETIME as a duration", async () => {
    const verify = verifierFor({ JWT_MAX_LIFETIME: "1h" });
    await expect(verify(await claims().setIssuedAt().setExpirationTime("2h").sign(secret))).rejects.toThrow(/3600 seconds/);
    const viewer = await verify(await claims().setIssuedAt().setExpirationTime("30m").sign(secret));
    expect(viewer.expiresAt! - Date.now()).toBeGreaterThan(29 * 60_000);
    expect(loadConfig({ JWT_MAX_LIFETIME: "7d" }).jwt.maxLifetimeSeconds).toBe(7 * 86_400);
    expect(loadConfig({ JWT_MAX_LIFETIME: "90" }).jwt.maxLifetimeSeconds).toBe(90);
    for (const bad of ["forever", "-1h", "0", "1w"]) expect(() => loadConfig({ JWT_MAX_LIFETIME: bad }), bad).toThrow(ConfigError);
  });
});
