import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server/app.js";
import { CreateKeyDocument, OnKeyUsedDocument, VerifyDocument } from "./generated/graphql.js";
import { clientFor, expectCode, tokenFor } from "./support/clients.js";
import { backendName, createTestLocation, onPostgres, type TestDatabaseLocation } from "./support/databases.js";
import { startTestServer } from "./support/server.js";
import { collect, wsClient } from "./support/subscriptions.js";

const METRICS_TOKEN = "scrape-token-0123456789abcdef";

/** The value of one sample line (`name{labels} value`), or undefined when it is absent. */
function sample(text: string, name: string, labels = ""): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(labels ? `${name}{${labels}` : `${name} `) || (!labels && l.startsWith(`${name}{`)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe(`/metrics (${backendName})`, () => {
  let location: TestDatabaseLocation;
  let server: RunningServer;
  let metricsUrl: string;

  beforeAll(async () => {
    location = await createTestLocation();
    server = await startTestServer(location, { METRICS_TOKEN, METRICS_PORT: "0" });
    metricsUrl = server.url.replace(/\/graphql$/, "/metrics");
  });
  afterAll(async () => {
    await server?.stop();
    await location?.drop();
  });

  const scrape = (authorization?: string, url = metricsUrl) => fetch(url, { headers: authorization ? { authorization } : {} });

  it("is refused without a token (401), with a bad one (401) and to a non-admin (403)", async () => {
    expect((await scrape()).status).toBe(401);
    expect((await scrape("Bearer not-a-token")).status).toBe(401);
    expect((await scrape(`Bearer ${await tokenFor("alice", ["owner"])}`)).status).toBe(403);
    expect((await scrape(`Bearer ${await tokenFor("gw", ["gateway"])}`)).status).toBe(403);
  });

  it("counts requests by operation and outcome, verification codes, batch sizes, subscriptions, pool and process", async () => {
    const owner = await clientFor(server.url, "alice");
    const gateway = await clientFor(server.url, "gw-1", ["gateway"]);
    const { secret } = (await owner.request(CreateKeyDocument, { input: { service: "SMS", name: "m" } })).createApiKey;
    await Promise.all(Array.from({ length: 5 }, () => gateway.request(VerifyDocument, { input: { key: secret, service: "SMS" } })));
    await gateway.request(VerifyDocument, { input: { key: secret, service: "EMAIL" } });
    await expectCode(owner.request(VerifyDocument, { input: { key: secret, service: "SMS" } }), "FORBIDDEN");
    const ws = wsClient(server.url, await tokenFor("alice"));
    const subscription = collect(ws, OnKeyUsedDocument, {});
    await expect.poll(() => server.services.follower.subscriberCount).toBe(1);

    const response = await scrape(`Bearer ${await tokenFor("root", ["admin"])}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(sample(text, "keyledger_requests_total", 'operation="mutation verifyApiKey",outcome="ok"')).toBe(6);
    expect(sample(text, "keyledger_requests_total", 'operation="mutation verifyApiKey",outcome="FORBIDDEN"')).toBe(1);
    expect(sample(text, "keyledger_requests_total", 'operation="mutation createApiKey",outcome="ok"')).toBe(1);
    expect(sample(text, "keyledger_request_duration_seconds_count", 'operation="mutation verifyApiKey",outcome="ok"')).toBe(6);
    expect(text).toMatch(/keyledger_request_duration_seconds_bucket\{le="0\.005",operation="mutation verifyApiKey",outcome="ok"\} \d+/);
    expect(sample(text, "keyledger_verifications_total", 'code="VALID"')).toBe(5);
    expect(sample(text, "keyledger_verifications_total", 'code="WRONG_SERVICE"')).toBe(1);
    expect(sample(text, "keyledger_group_commit_batch_size_sum")).toBe(6);
    expect(sample(text, "keyledger_subscriptions_open")).toBe(1);
    expect(text).toContain("# TYPE keyledger_append_lag_seconds histogram");
    const poolTotal = sample(text, "keyledger_db_pool_connections", 'state="total"');
    if (onPostgres) expect(poolTotal).toBeGreaterThan(0);
    else expect(poolTotal).toBe(0);
    expect(sample(text, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(sample(text, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
    expect(sample(text, "keyledger_requests_total", 'operation="http /metrics",outcome="401"')).toBeGreaterThan(0);
    subscription.stop();
    await ws.dispose();
  });

  it("is readable with METRICS_TOKEN, and on METRICS_PORT only with it when it is set", async () => {
    expect((await scrape(`Bearer ${METRICS_TOKEN}`)).status).toBe(200);
    const separate = `http://127.0.0.1:${server.metricsPort}/metrics`;
    expect((await scrape(undefined, separate)).status).toBe(401);
    const response = await scrape(`Bearer ${METRICS_TOKEN}`, separate);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("keyledger_requests_total");
    expect((await scrape(`Bearer ${METRICS_TOKEN}`, separate.replace("/metrics", "/graphql"))).status).toBe(404);
  });
});
