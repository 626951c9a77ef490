import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GraphQLClient } from "graphql-request";
import type { RunningServer } from "../../src/server/app.js";
import { clientFor, tokenFor } from "../support/clients.js";
import { backendName, createTestLocation, type TestDatabaseLocation } from "../support/databases.js";
import { startTestServer } from "../support/server.js";
import { freePort, NGINX_TEMPLATE, shippedConfig, startEchoService, startNginx, type RunningNginx } from "./nginx.js";
import { countKeyUsed, keysInEveryState } from "./support.js";

interface KeyUsedRow {
  [column: string]: unknown;
  request_id: string;
  gateway_id: string;
}

describe(`nginx auth_request with the shipped configuration (${backendName})`, () => {
  let location: TestDatabaseLocation;
  let server: RunningServer;
  let service: Awaited<ReturnType<typeof startEchoService>>;
  let nginx: RunningNginx;
  let alice: GraphQLClient;
  let keys: Awaited<ReturnType<typeof keysInEveryState>>;

  const through = (headers: Record<string, string> = {}, method = "GET", path = "/messages?to=1") => fetch(`${nginx.url}${path}`, { method, headers });

  beforeAll(async () => {
    location = await createTestLocation();
    server = await startTestServer(location);
    service = await startEchoService();
    alice = await clientFor(server.url, "alice");
    keys = await keysInEveryState(alice);
    const listen = await freePort();
    nginx = await startNginx(shippedConfig(server.port, service.port, listen, await tokenFor("nginx-edge", ["gateway"])), listen);
  });
  afterAll(async () => {
    await nginx?.stop();
    await service?.close();
    await server?.stop();
    await location?.drop();
  });

  it("ships the tested configuration verbatim in docs/gateways.md", () => {
    const doc = readFileSync(new URL("../../docs/gateways.md", import.meta.url), "utf8");
    expect(doc).toContain(readFileSync(NGINX_TEMPLATE, "utf8").trim());
  });

  it("lets a valid key through with the key's id, owner and service, records one KeyUsed per request, and overwrites spoofed headers", async () => {
    const before = await countKeyUsed(server);
    const seenBefore = service.seen.length;
    const spoof = { "x-keyledger-key-id": "QXBpS2V5OnNwb29m", "x-keyledger-owner-id": "mallory", "x-keyledger-service": "STUDIO" };
    const requests = [
      through({ "x-api-key": keys.active.secret, ...spoof }),
      through({ authorization: `Bearer ${keys.active.secret}` }, "POST"),
      through({ "x-api-key": keys.active.secret }, "DELETE"),
    ];
    for (const response of await Promise.all(requests)) {
      expect(response.status).toBe(200);
      const echoed = (await response.json()) as { headers: Record<string, string> };
      expect(echoed.headers).toMatchObject({
        "x-keyledger-key-id": keys.active.apiKey.id,
        "x-keyledger-owner-id": "alice",
        "x-keyledger-service": "SMS",
      });
    }
    expect(service.seen.length).toBe(seenBefore + 3);
    // Exactly one verification per request: one KeyUsed each, carrying the request id nginx gave it.
    expect(await countKeyUsed(server)).toBe(before + 3);
    const { rows } = await server.services.db.query<KeyUsedRow>(
      `SELECT metadata->>'requestId' AS request_id, data->>'gatewayId' AS gateway_id FROM events WHERE type = 'KeyUsed' ORDER BY position DESC LIMIT 3`,
    );
    const upstreamIds = service.seen.slice(-3).map((headers) => headers["x-request-id"]);
    expect(rows.map((row) => row.request_id).sort()).toEqual([...upstreamIds].sort());
    expect(new Set(rows.map((row) => row.gateway_id))).toEqual(new Set(["nginx-edge"]));
  });

  it("answers 401 for an unknown or missing key and 403 for a disabled key, with the code, without reaching the service or recording anything", async () => {
    const before = await countKeyUsed(server);
    const seenBefore = service.seen.length;
    const cases: Array<[Record<string, string>, number, string]> = [
      [{ "x-api-key": `${keys.active.secret.slice(0, -1)}x` }, 401, "NOT_FOUND"],
      [{ "x-api-key": keys.revoked.secret }, 401, "REVOKED"],
      [{ "x-keyledger-key-id": keys.active.apiKey.id }, 401, "MISSING_KEY"],
      [{ "x-api-key": keys.disabled.secret }, 403, "DISABLED"],
    ];
    for (const [headers, status, code] of cases) {
      const response = await through(headers);
      expect([response.status, response.headers.get("x-keyledger-code")], code).toEqual([status, code]);
      const body = await response.text();
      expect(JSON.parse(body)).toEqual({ error: { code, message: expect.any(String) } });
      expect(body).not.toContain("alice");
    }
    expect(service.seen.length).toBe(seenBefore);
    expect(await countKeyUsed(server)).toBe(before);
  });

  it("passes keyledger's 429 with Retry-After, and its RateLimit-* and credits headers, to the client", async () => {
    const alice = { viewer: { userId: "alice", roles: new Set(["owner"] as const) }, requestId: "nginx-policies" };
    const { secret } = await server.services.commands.create(alice, {
      service: "SMS",
      name: "limited",
      ratelimits: [{ name: "burst", limit: 1, durationMs: 60_000 }],
      credits: { remaining: 5, refill: null },
    });
    const limits = (response: Response) =>
      ["ratelimit-limit", "ratelimit-remaining", "retry-after", "x-keyledger-credits-remaining"].map((name) => response.headers.get(name));
    const seenBefore = service.seen.length;
    const admitted = await through({ "x-api-key": secret });
    expect([admitted.status, ...limits(admitted)]).toEqual([200, "1", "0", null, "4"]);
    expect(Number(admitted.headers.get("ratelimit-reset"))).toBeGreaterThanOrEqual(0);

    const refused = await through({ "x-api-key": secret });
    expect([refused.status, refused.headers.get("x-keyledger-code"), ...limits(refused)]).toEqual([429, "RATE_LIMITED", "1", "0", expect.stringMatching(/^\d+$/), "4"]);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(55);
    expect(Number(refused.headers.get("ratelimit-reset"))).toBeGreaterThanOrEqual(55);
    expect(await refused.json()).toEqual({ error: { code: "RATE_LIMITED", message: expect.any(String) } });
    expect(service.seen.length).toBe(seenBefore + 1);

    // A key without limits or credits: no such headers at all (nginx sends none for an empty value).
    const plain = await through({ "x-api-key": keys.active.secret });
    expect([plain.status, ...limits(plain), plain.headers.get("ratelimit-reset")]).toEqual([200, null, null, null, null, null]);
  });

  it("answers bad input with 400, never 500, and records nothing", async () => {
    const before = await countKeyUsed(server);
    // Over nginx's 8 KB header buffers nginx answers 400 itself; below that keyledger does.
    expect((await through({ "x-api-key": "k".repeat(10_240) })).status).toBe(400);
    const tooLong = await through({ "x-api-key": "k".repeat(300) });
    expect([tooLong.status, tooLong.headers.get("x-keyledger-code")]).toEqual([400, "BAD_USER_INPUT"]);
    const withControl = await rawRequest(nginx.url, `X-API-Key: ${keys.active.secret.slice(0, 9)}\x01${keys.active.secret.slice(9)}`);
    expect(withControl.status).toBe(400);
    expect(withControl.head).toMatch(/X-Keyledger-Code: BAD_USER_INPUT/i);
    expect(await countKeyUsed(server)).toBe(before);
    expect(nginx.errorLog()).not.toMatch(/\[(crit|alert|emerg)\]/);
  });
});

/**
 * keyledger should not be stopped mid-suite, nor made to answer 400 to a request nginx lets through,
 * so the configuration's mapping of every status auth_request does not pass on is also shown
 * against a stand-in that answers as keyledger's forward-auth does.
 */
describe("nginx configuration: statuses auth_request cannot pass on", () => {
  let standIn: Server;
  let service: Awaited<ReturnType<typeof startEchoService>>;
  let nginx: RunningNginx;
  let unreachable: RunningNginx;

  beforeAll(async () => {
    standIn = createServer((req, res) => {
      const wanted = String(req.headers["x-api-key"] ?? "");
      const answers: Record<string, [number, Record<string, string>]> = {
        "rate-limited": [429, { "x-keyledger-code": "RATE_LIMITED", "retry-after": "7" }],
        "usage-exceeded": [429, { "x-keyledger-code": "USAGE_EXCEEDED", "retry-after": "3600" }],
        "bad-input": [400, { "x-keyledger-code": "BAD_USER_INPUT" }],
        "db-down": [503, { "x-keyledger-code": "SERVICE_UNAVAILABLE" }],
      };
      const [status, headers] = answers[wanted] ?? [200, { "x-keyledger-code": "VALID", "x-keyledger-key-id": "k", "x-keyledger-owner-id": "o", "x-keyledger-service": "SMS" }];
      res.writeHead(status, headers);
      res.end();
    });
    await new Promise<void>((resolve) => standIn.listen(0, "127.0.0.1", resolve));
    service = await startEchoService();
    const [listen, listenUnreachable, closedPort] = [await freePort(), await freePort(), await freePort()];
    nginx = await startNginx(shippedConfig((standIn.address() as { port: number }).port, service.port, listen, "token"), listen);
    unreachable = await startNginx(shippedConfig(closedPort, service.port, listenUnreachable, "token"), listenUnreachable);
  });
  afterAll(async () => {
    await nginx?.stop();
    await unreachable?.stop();
    await service?.close();
    await new Promise((resolve) => standIn?.close(resolve));
  });

  it("maps 429 with Retry-After, 400 and 503 to the client instead of nginx's 500", async () => {
    const cases: Array<[string, number, string, string | null]> = [
      ["rate-limited", 429, "RATE_LIMITED", "7"],
      ["usage-exceeded", 429, "USAGE_EXCEEDED", "3600"],
      ["bad-input", 400, "BAD_USER_INPUT", null],
      ["db-down", 503, "SERVICE_UNAVAILABLE", null],
    ];
    for (const [key, status, code, retryAfter] of cases) {
      const response = await fetch(`${nginx.url}/`, { headers: { "x-api-key": key } });
      expect([response.status, response.headers.get("x-keyledger-code"), response.headers.get("retry-after")], key).toEqual([status, code, retryAfter]);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    expect(service.seen.length).toBe(0);
  });

  it("fails closed with 503 when keyledger is unreachable", async () => {
    const response = await fetch(`${unreachable.url}/`, { headers: { "x-api-key": "anything" } });
    expect(response.status).toBe(503);
    expect(service.seen.length).toBe(0);
  });
});

/** A request fetch would refuse to send: a header line with a control character. */
function rawRequest(url: string, headerLine: string): Promise<{ status: number; head: string }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), "127.0.0.1", () => {
      socket.write(Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\n${headerLine}\r\nConnection: close\r\n\r\n`, "latin1"));
    });
    let out = "";
    socket.on("data", (chunk) => (out += chunk.toString("latin1")));
    socket.on("error", reject);
    socket.on("close", () => resolve({ status: Number(out.split(" ")[1]), head: out.split("\r\n\r\n")[0]! }));
  });
}
