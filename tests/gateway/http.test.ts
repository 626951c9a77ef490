import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GraphQLClient } from "graphql-request";
import { Validator } from "@seriousme/openapi-schema-validator";
import type { RunningServer } from "../../src/server/app.js";
import { VerifyDocument } from "../generated/graphql.js";
import { clientFor, tokenFor } from "../support/clients.js";
import { backendName, createTestLocation, type TestDatabaseLocation } from "../support/databases.js";
import { startTestServer } from "../support/server.js";
import { call, countKeyUsed, keysInEveryState, openApiChecker, originOf, type SeenResponse } from "./support.js";

describe(`gateway HTTP API: /v1/keys.verify, /v1/auth, /openapi.json (${backendName})`, () => {
  let location: TestDatabaseLocation;
  let server: RunningServer;
  let origin: string;
  let alice: GraphQLClient;
  let gatewayGraphQL: GraphQLClient;
  let gatewayToken: string;
  let ownerToken: string;
  let keys: Awaited<ReturnType<typeof keysInEveryState>>;
  let check: (seen: SeenResponse) => void;

  const verifyBody = (body: string, token: string | null = gatewayToken) =>
    call(origin, "/v1/keys.verify", {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body,
    });
  const verify = (input: unknown, token?: string | null) => verifyBody(JSON.stringify(input), token);
  const forwardAuth = (query: string, headers: Record<string, string>, method = "GET", token: string | null = gatewayToken) =>
    call(origin, `/v1/auth${query}`, { method, headers: { ...(token ? { "x-keyledger-gateway-token": token } : {}), ...headers } });

  /** Sends a raw request whose X-API-Key holds a byte fetch would refuse to send. */
  function rawForwardAuth(keyBytes: Buffer): Promise<{ status: number; headers: string; body: string }> {
    const { port } = new URL(origin);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1", () => {
        socket.write(
          Buffer.concat([
            Buffer.from(`GET /v1/auth?service=SMS HTTP/1.1\r\nHost: x\r\nX-Keyledger-Gateway-Token: ${gatewayToken}\r\nX-API-Key: `),
            keyBytes,
            Buffer.from("\r\nConnection: close\r\n\r\n"),
          ]),
        );
      });
      let out = "";
      socket.on("data", (chunk) => (out += chunk.toString("latin1")));
      socket.on("error", reject);
      socket.on("close", () => {
        const [head, body = ""] = out.split("\r\n\r\n");
        resolve({ status: Number(head!.split(" ")[1]), headers: head!, body });
      });
    });
  }

  beforeAll(async () => {
    location = await createTestLocation();
    server = await startTestServer(location);
    origin = originOf(server);
    alice = await clientFor(server.url, "alice");
    gatewayGraphQL = await clientFor(server.url, "edge-gateway", ["gateway"]);
    gatewayToken = await tokenFor("edge-gateway", ["gateway"]);
    ownerToken = await tokenFor("alice", ["owner"]);
    keys = await keysInEveryState(alice);
    const document = (await call(origin, "/openapi.json")).body as Record<string, unknown>;
    check = openApiChecker(document);
  });
  afterAll(async () => {
    await server?.stop();
    await location?.drop();
  });

  it("serves an OpenAPI 3.1 document that is valid against the OpenAPI schema", async () => {
    const seen = await call(origin, "/openapi.json");
    expect(seen.status).toBe(200);
    const validator = new Validator();
    const result = await validator.validate(seen.body as Parameters<Validator["validate"]>[0]);
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  describe("POST /v1/keys.verify", () => {
    it("gives the same verdicts as GraphQL's verifyApiKey, each a 200, and records one KeyUsed per VALID", async () => {
      const cases = [
        { key: keys.active.secret, service: "SMS", code: "VALID" },
        { key: keys.disabled.secret, service: "SMS", code: "DISABLED" },
        { key: keys.revoked.secret, service: "SMS", code: "REVOKED" },
        { key: keys.active.secret, service: "EMAIL", code: "WRONG_SERVICE" },
        { key: `${keys.active.secret.slice(0, -1)}x`, service: "SMS", code: "NOT_FOUND" },
        { key: "", service: "SMS", code: "NOT_FOUND" },
      ] as const;
      for (const { key, service, code } of cases) {
        const before = await countKeyUsed(server);
        const seen = await verify({ key, service });
        check(seen);
        expect(seen.status).toBe(200);
        const viaGraphQL = (await gatewayGraphQL.request(VerifyDocument, { input: { key, service } })).verifyApiKey;
        expect(seen.body, `${code}`).toMatchObject(viaGraphQL);
        expect((seen.body as { code: string }).code).toBe(code);
        expect(await countKeyUsed(server)).toBe(before + (code === "VALID" ? 2 : 0));
      }
      expect((await verify({ key: keys.active.secret, service: "SMS" })).body).toEqual({
        valid: true,
        code: "VALID",
        keyId: keys.active.apiKey.id,
        ownerId: "alice",
        expiresAt: null,
        permissions: [],
        meta: null,
        credits: null,
        ratelimits: [],
      });
    });

    it("answers 401 without or with a bad gateway token, 403 to a caller without the gateway or admin role", async () => {
      const input = { key: keys.active.secret, service: "SMS" };
      const before = await countKeyUsed(server);
      for (const [token, status, code] of [
        [null, 401, "UNAUTHENTICATED"],
        ["not-a-jwt", 401, "UNAUTHENTICATED"],
        [await tokenFor("edge", ["gateway"], "another-secret-that-is-long-enough-0123456789"), 401, "UNAUTHENTICATED"],
        [ownerToken, 403, "FORBIDDEN"],
        [await tokenFor("auditor", ["auditor"]), 403, "FORBIDDEN"],
      ] as const) {
        const seen = await verify(input, token);
        check(seen);
        expect([seen.status, (seen.body as { error: { code: string } }).error.code]).toEqual([status, code]);
      }
      expect((await verify(input, await tokenFor("root", ["admin"]))).status).toBe(200);
      expect(await countKeyUsed(server)).toBe(before + 1);
    });

    it("answers bad input with 400 naming the field, records nothing, never 500", async () => {
      const key = keys.active.secret;
      const before = await countKeyUsed(server);
      const cases: Array<[string, string]> = [
        ["not json", "body"],
        ["", "body"],
        ["[]", "body"],
        ["null", "body"],
        [JSON.stringify({ key: 5, service: "SMS" }), "key"],
        [JSON.stringify({ key, service: "SMS", extra: 1 }), "extra"],
        [JSON.stringify({ key: "k".repeat(10_240), service: "SMS" }), "key"],
        [JSON.stringify({ key }), "service"],
        [JSON.stringify({ key, service: "FAX" }), "service"],
        [JSON.stringify({ key, service: null }), "service"],
        [JSON.stringify({ service: "SMS" }), "key"],
      ];
      for (const [body, field] of cases) {
        const seen = await verifyBody(body);
        check(seen);
        expect(seen.status, body.slice(0, 60)).toBe(400);
        expect(seen.body).toMatchObject({ error: { code: "BAD_USER_INPUT", field } });
        expect(seen.headers.get("x-keyledger-code")).toBe("BAD_USER_INPUT");
      }
      const huge = await verifyBody(JSON.stringify({ key, service: "SMS", pad: "x".repeat(100_000) }));
      check(huge);
      expect(huge.status).toBe(413);
      const get = await call(origin, "/v1/keys.verify", { headers: { authorization: `Bearer ${gatewayToken}` } });
      expect([get.status, get.headers.get("allow")]).toEqual([405, "POST"]);
      expect(await countKeyUsed(server)).toBe(before);
    });
  });

  describe("forward-auth /v1/auth", () => {
    it("answers 200 with the key's id, owner and service for a valid key, from X-API-Key or Authorization: Bearer, on any method", async () => {
      const expected = { "x-keyledger-code": "VALID", "x-keyledger-key-id": keys.active.apiKey.id, "x-keyledger-owner-id": "alice", "x-keyledger-service": "SMS" };
      const before = await countKeyUsed(server);
      const answers = [
        await forwardAuth("?service=SMS", { "x-api-key": keys.active.secret }),
        await forwardAuth("?service=SMS", { authorization: `Bearer ${keys.active.secret}` }, "POST"),
        await forwardAuth("?service=SMS", { "x-api-key": keys.active.secret, authorization: "Bearer someone-elses-jwt" }, "DELETE"),
      ];
      for (const seen of answers) {
        check(seen);
        expect(seen.status).toBe(200);
        for (const [name, value] of Object.entries(expected)) expect(seen.headers.get(name), name).toBe(value);
      }
      expect(await countKeyUsed(server)).toBe(before + 3);
    });

    it("answers 401 for a missing, malformed, unknown or revoked key and 403 for a disabled key or another service, with only the code", async () => {
      const cases: Array<[Record<string, string>, string, number, string]> = [
        [{}, "?service=SMS", 401, "MISSING_KEY"],
        [{ authorization: "Basic dXNlcjpwYXNz" }, "?service=SMS", 401, "MISSING_KEY"],
        [{ "x-api-key": "hello" }, "?service=SMS", 401, "NOT_FOUND"],
        [{ authorization: `Bearer ${keys.active.secret.slice(0, -1)}x` }, "?service=SMS", 401, "NOT_FOUND"],
        [{ "x-api-key": keys.revoked.secret }, "?service=SMS", 401, "REVOKED"],
        [{ "x-api-key": keys.disabled.secret }, "?service=SMS", 403, "DISABLED"],
        [{ "x-api-key": keys.active.secret }, "?service=EMAIL", 403, "WRONG_SERVICE"],
      ];
      const before = await countKeyUsed(server);
      for (const [headers, query, status, code] of cases) {
        const seen = await forwardAuth(query, headers);
        check(seen);
        expect([seen.status, seen.headers.get("x-keyledger-code")], code).toEqual([status, code]);
        expect(seen.headers.get("x-keyledger-key-id")).toBeNull();
        expect(seen.headers.get("x-keyledger-owner-id")).toBeNull();
        expect(Object.keys((seen.body as { error: object }).error).sort()).toEqual(["code", "message"]);
        expect(JSON.stringify(seen.body)).not.toMatch(/alice|QXBpS2V5/);
      }
      expect(await countKeyUsed(server)).toBe(before);
    });

    it("answers 401 or 403 about the gateway's own credential, distinct from key verdicts", async () => {
      const headers = { "x-api-key": keys.active.secret };
      for (const [token, status, code] of [
        [null, 401, "UNAUTHENTICATED"],
        ["garbage", 401, "UNAUTHENTICATED"],
        [ownerToken, 403, "FORBIDDEN"],
      ] as const) {
        const seen = await forwardAuth("?service=SMS", headers, "GET", token);
        check(seen);
        expect([seen.status, seen.headers.get("x-keyledger-code")]).toEqual([status, code]);
      }
      // Without its credential, the answer says where forward-auth expects it (Authorization is the customer's).
      const missing = await forwardAuth("?service=SMS", headers, "GET", null);
      expect((missing.body as { error: { message: string } }).error.message).toMatch(/in X-Keyledger-Gateway-Token; Authorization carries the customer's key/);
    });

    it("answers bad input with 400 naming the query parameter or header, records nothing, never 500", async () => {
      const key = keys.active.secret;
      const before = await countKeyUsed(server);
      const cases: Array<[string, Record<string, string>, string]> = [
        ["", { "x-api-key": key }, "service"],
        ["?service=FAX", { "x-api-key": key }, "service"],
        ["?service=sms", { "x-api-key": key }, "service"],
        ["?service=SMS&service=EMAIL", { "x-api-key": key }, "service"],
        ["?service=SMS&costs=1", { "x-api-key": key }, "costs"],
        ["?service=SMS", { "x-api-key": "k".repeat(10_240) }, "X-API-Key"],
        ["?service=SMS", { authorization: `Bearer ${"k".repeat(10_240)}` }, "Authorization"],
        ["?service=SMS", { "x-api-key": `${key.slice(0, 10)}\t${key.slice(10)}` }, "X-API-Key"],
      ];
      for (const [query, headers, field] of cases) {
        const seen = await forwardAuth(query, headers);
        check(seen);
        expect(seen.status, `${query} ${field}`).toBe(400);
        expect(seen.headers.get("x-keyledger-code")).toBe("BAD_USER_INPUT");
        expect(seen.body).toMatchObject({ error: { code: "BAD_USER_INPUT", field } });
      }
      for (const bytes of [Buffer.from([0x01]), Buffer.from([0x7f]), Buffer.from("\x1b[31m", "latin1")]) {
        const raw = await rawForwardAuth(Buffer.concat([Buffer.from(key.slice(0, 10)), bytes, Buffer.from(key.slice(10))]));
        expect(raw.status).toBe(400);
        expect(raw.headers).toMatch(/X-Keyledger-Code: BAD_USER_INPUT/i);
        expect(JSON.parse(raw.body)).toMatchObject({ error: { code: "BAD_USER_INPUT", field: "X-API-Key" } });
      }
      const nonAscii = await rawForwardAuth(Buffer.from([0x6b, 0xc3, 0xa9]));
      expect(nonAscii.status).toBe(400);
      expect(nonAscii.body).toContain('"field":"X-API-Key"');
      expect(await countKeyUsed(server)).toBe(before);
    });
  });
});
