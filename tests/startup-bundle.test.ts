// The server as `npm start` runs it: the build of scripts/build-server.ts (packages bundled in,
// code split into chunks loaded on first use, PGlite left in node_modules), started on a fresh
// location and again on what that start left. The other tests run the TypeScript sources; this one
// catches what only the build can break: a bundled package that reads files beside itself, a chunk
// that fails to load on first use (the PostgreSQL driver, Prisma's query compiler), a second copy
// of a package that should be one.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildServer } from "../scripts/build-server.js";
import { CreateKeyDocument, ListKeysDocument, VerifyDocument } from "./generated/graphql.js";
import { clientFor } from "./support/clients.js";
import { withTestLocation, type TestDatabaseLocation } from "./support/databases.js";
import { repoRoot, servingUrl } from "./support/processes.js";
import { TEST_JWT_SECRET } from "./support/server.js";

// Two levels below the repository, like dist/server: the build finds prisma/migrations from there.
const outdir = mkdtempSync(join(repoRoot, "dist", "test-build-"));
const started: ChildProcess[] = [];

beforeAll(() => buildServer(join(repoRoot, "src/main.ts"), outdir));
afterAll(() => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  rmSync(outdir, { recursive: true, force: true });
});

async function startBuilt(location: TestDatabaseLocation, env: Record<string, string> = {}): Promise<{ url: string; stop(): Promise<number | null> }> {
  const child = spawn(process.execPath, ["--enable-source-maps", join(outdir, "main.js")], {
    cwd: repoRoot,
    env: {
      ...process.env,
      HOST: "127.0.0.1",
      PORT: "0",
      DATA_DIR: location.dataDir,
      DATABASE_URL: location.databaseUrl ?? "",
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: "warn",
      ...env,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  started.push(child);
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  const url = await servingUrl(child);
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      return exited;
    },
  };
}

async function readiness(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(new URL("/readyz", url));
  return { status: response.status, body: await response.json() };
}

describe("the built server (npm start)", () => {
  it("starts, serves keys and verifications, stops cleanly, and restarts on what it left", async () => {
    await withTestLocation(async (location) => {
      const first = await startBuilt(location);
      expect(await readiness(first.url)).toEqual({ status: 200, body: { status: "ready", ready: true } });
      const owner = await clientFor(first.url, "alice");
      const { createApiKey } = await owner.request(CreateKeyDocument, { input: { service: "SMS", name: "bundled" } });
      expect((await owner.request(ListKeysDocument, {})).apiKeys.totalCount).toBe(1);
      const gateway = await clientFor(first.url, "sms-gateway", ["gateway"]);
      const verified = await gateway.request(VerifyDocument, { input: { key: createApiKey.secret, service: "SMS" } });
      expect(verified.verifyApiKey).toMatchObject({ valid: true, code: "VALID", ownerId: "alice" });
      expect(await first.stop()).toBe(0);

      const again = await startBuilt(location);
      expect((await readiness(again.url)).status).toBe(200);
      const keys = await (await clientFor(again.url, "alice")).request(ListKeysDocument, {});
      expect(keys.apiKeys.totalCount).toBe(1);
      expect(await again.stop()).toBe(0);
    });
  });

  it("exports traces to an OTLP collector when OTEL_EXPORTER_OTLP_ENDPOINT is set (the exporter package is bundled)", async () => {
    const received: string[] = [];
    const collector = createServer((req, res) => {
      received.push(`${req.method} ${req.url}`);
      req.resume();
      req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end("{}"));
    });
    await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
    try {
      await withTestLocation(async (location) => {
        const server = await startBuilt(location, { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}` });
        expect((await readiness(server.url)).status).toBe(200);
        await fetch(server.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ __typename }" }) });
        expect(await server.stop()).toBe(0); // stopping flushes the buffered spans
      });
      expect(received).toContain("POST /v1/traces");
    } finally {
      await new Promise((resolve) => collector.close(resolve));
    }
  });
});
