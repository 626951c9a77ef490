import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";
import type { RunningServer } from "../src/server/app.js";
import { tokenFor } from "./support/clients.js";
import { backendName, createTestLocation, type TestDatabaseLocation } from "./support/databases.js";
import { startTestServer } from "./support/server.js";

const CREATE = 'mutation { createApiKey(input: { name: "csrf", service: SMS }) { secret } }';
const ALLOWED = "https://console.example.com";
const EVIL = "https://evil.example";

describe(`browser safety (${backendName})`, () => {
  let location: TestDatabaseLocation;
  let withAllowList: TestDatabaseLocation;
  let server: RunningServer;
  let corsServer: RunningServer;
  let token: string;

  const eventRows = async () => (await server.services.db.query<{ n: number }>("SELECT count(*)::int AS n FROM events")).rows[0]!.n;
  const preflight = (url: string, origin: string) =>
    fetch(url, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
    });

  beforeAll(async () => {
    [location, withAllowList] = await Promise.all([createTestLocation(), createTestLocation()]);
    [server, corsServer] = await Promise.all([
      startTestServer(location),
      startTestServer(withAllowList, { CORS_ORIGINS: ` ${ALLOWED} , https://admin.example.com:8443 ` }),
    ]);
    token = await tokenFor("alice");
  });
  afterAll(async () => {
    await Promise.all([server.stop(), corsServer.stop()]);
    await Promise.all([location.drop(), withAllowList.drop()]);
  });

  it("executes application/json POSTs (also when the client accepts application/graphql-response+json)", async () => {
    const response = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8", accept: "application/graphql-response+json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: CREATE }),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { data: { createApiKey: { secret: string } } }).data.createApiKey.secret).toMatch(/^klp_sms_/);
  });

  it.each([
    ["application/x-www-form-urlencoded", `query=${encodeURIComponent(CREATE)}`],
    ["multipart/form-data; boundary=b", `--b\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${JSON.stringify({ query: CREATE })}\r\n--b--\r\n`],
    ["text/plain", JSON.stringify({ query: CREATE })],
    ["application/graphql", CREATE],
    ["application/graphql-response+json", JSON.stringify({ query: CREATE })],
  ])("refuses a %s POST with 415 BAD_REQUEST and runs nothing", async (contentType, body) => {
    const before = await eventRows();
    const response = await fetch(server.url, { method: "POST", headers: { "content-type": contentType, authorization: `Bearer ${token}`, origin: EVIL }, body });
    expect(response.status).toBe(415);
    const text = await response.text();
    expect(text).not.toContain("klp_");
    expect(JSON.parse(text).errors[0].extensions.code).toBe("BAD_REQUEST");
    expect(await eventRows()).toBe(before);
  });

  it("never runs a mutation over GET", async () => {
    const before = await eventRows();
    const response = await fetch(`${server.url}?query=${encodeURIComponent(CREATE)}`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(405);
    expect(await response.text()).not.toContain("klp_");
    expect(await eventRows()).toBe(before);
  });

  it("answers a GET only with a header that forces a preflight (CSRF prevention)", async () => {
    const url = `${server.url}?query=${encodeURIComponent("{ health { ok } }")}`;
    const bare = await fetch(url);
    expect(bare.status).toBe(403);
    expect(((await bare.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe("BAD_REQUEST");
    for (const headers of [{ authorization: `Bearer ${token}` }, { "x-graphql-yoga-csrf": "1" }] as Array<Record<string, string>>) {
      const response = await fetch(url, { headers });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ data: { health: { ok: true } } });
    }
  });

  it("gives no origin cross-origin access when CORS_ORIGINS is unset", async () => {
    const answer = await preflight(server.url, ALLOWED);
    expect(answer.headers.get("access-control-allow-origin")).toBeNull();
    const post = await fetch(server.url, { method: "POST", headers: { "content-type": "application/json", origin: ALLOWED }, body: JSON.stringify({ query: "{ health { ok } }" }) });
    expect(post.headers.get("access-control-allow-origin")).toBeNull();
    expect(post.headers.get("access-control-allow-credentials")).toBeNull();
  });

  it("allows the origins in CORS_ORIGINS, without credentials, and no other", async () => {
    for (const origin of [ALLOWED, "https://admin.example.com:8443"]) {
      const answer = await preflight(corsServer.url, origin);
      expect(answer.headers.get("access-control-allow-origin")).toBe(origin);
      expect(answer.headers.get("access-control-allow-headers")).toContain("authorization");
      expect(answer.headers.get("access-control-allow-credentials")).toBeNull();
    }
    const post = await fetch(corsServer.url, { method: "POST", headers: { "content-type": "application/json", origin: ALLOWED }, body: JSON.stringify({ query: "{ health { ok } }" }) });
    expect(post.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(post.headers.get("access-control-allow-credentials")).toBeNull();
    expect(post.headers.get("vary")).toMatch(/origin/i);
    for (const origin of [EVIL, "https://console.example.com.evil.example", "null"]) {
      const answer = await preflight(corsServer.url, origin);
      expect(answer.headers.get("access-control-allow-origin"), origin).toBeNull();
      const refused = await fetch(corsServer.url, { method: "POST", headers: { "content-type": "application/json", origin }, body: JSON.stringify({ query: "{ health { ok } }" }) });
      expect(refused.headers.get("access-control-allow-origin"), origin).toBeNull();
    }
  });

  it("refuses a CORS_ORIGINS entry that is not an origin, at start", () => {
    for (const value of ["console.example.com", "https://console.example.com/", "*"]) {
      expect(() => loadConfig({ CORS_ORIGINS: value }), value).toThrow(ConfigError);
    }
    expect(loadConfig({ CORS_ORIGINS: "https://A.example.com,http://localhost:5173" }).corsOrigins).toEqual(["https://a.example.com", "http://localhost:5173"]);
  });
});
