import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consoleRoutes, defaultConsoleDir } from "../../src/server/console-routes.js";
import { DEV_SIGN_IN_PATH } from "../../src/server/dev-sign-in.js";
import { createTestLocation, onPostgres, type TestDatabaseLocation } from "../support/databases.js";
import { startTestServer } from "../support/server.js";
import { assertConsoleBuilt } from "./browser.js";

type Server = Awaited<ReturnType<typeof startTestServer>>;
const html = { accept: "text/html,application/xhtml+xml" };

async function withServer<T>(location: TestDatabaseLocation, env: Record<string, string>, use: (base: string, server: Server) => Promise<T>): Promise<T> {
  const server = await startTestServer(location, env);
  try {
    return await use(`http://127.0.0.1:${server.port}`, server);
  } finally {
    await server.stop();
  }
}

const devSignIn = (base: string, body: unknown, contentType = "application/json") =>
  fetch(`${base}${DEV_SIGN_IN_PATH}`, { method: "POST", headers: { "content-type": contentType }, body: JSON.stringify(body) });

describe("serving the console", () => {
  let location: TestDatabaseLocation;
  let server: Server;
  let base: string;
  beforeAll(async () => {
    assertConsoleBuilt();
    location = await createTestLocation();
    server = await startTestServer(location);
    base = `http://127.0.0.1:${server.port}`;
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    await location?.drop();
  });

  it("serves index.html for pages, hashed assets with a year's cache, and leaves the API routes alone", async () => {
    {
      const index = await fetch(`${base}/`, { headers: html });
      expect(index.status).toBe(200);
      expect(index.headers.get("cache-control")).toBe("no-cache");
      expect(index.headers.get("content-security-policy")).toContain("default-src 'self'");
      const page = await index.text();
      const deepLink = await fetch(`${base}/keys/sms`, { headers: html });
      expect(await deepLink.text()).toBe(page);

      const scripts = [...page.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
      expect(scripts.length).toBeGreaterThan(0);
      for (const path of scripts) {
        expect(path).toMatch(/-[\w-]{8}\.(js|css)$/);
        const asset = await fetch(`${base}${path}`);
        expect(asset.status).toBe(200);
        expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      }
      expect((await fetch(`${base}/assets/missing-0123abcd.js`)).status).toBe(404);

      // The API answers as before: unknown paths 404 for API clients, GraphiQL stays at /graphql.
      expect((await fetch(`${base}/nothing-here`)).status).toBe(404);
      expect((await fetch(`${base}/nothing-here`, { headers: html })).status).toBe(404);
      expect((await fetch(`${base}/keys/sms`, { method: "POST", headers: html })).status).toBe(404);
      expect(await (await fetch(`${base}/graphql`, { headers: html })).text()).not.toBe(page);
      expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: "ok" });
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      expect((await fetch(`${base}/.well-known/jwks.json`)).headers.get("content-type")).toBe("application/json");
      expect((await fetch(`${base}/events.ndjson`)).status).toBe(401);
    }
  });

  async function expectNoDevSignIn(base: string, server: Server) {
    expect(server.devSecretFile).toBeUndefined();
    expect((await fetch(`${base}${DEV_SIGN_IN_PATH}`, { headers: { accept: "application/json" } })).status).toBe(404);
    expect((await fetch(`${base}${DEV_SIGN_IN_PATH}`, { headers: html })).status).toBe(404);
    expect((await devSignIn(base, { userId: "mallory", role: "admin" })).status).toBe(404);
  }

  it("answers 404 for a file a console rebuild removed, and keeps serving; serves the files the rebuild added", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keyledger-console-"));
    mkdirSync(join(dir, "assets"));
    writeFileSync(join(dir, "index.html"), "<!doctype html><title>before</title>");
    writeFileSync(join(dir, "assets/index-old.js"), "old();");
    const routes = consoleRoutes(dir);
    const http = createServer((req, res) => void (routes(req, res) || res.writeHead(404).end()));
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const at = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    try {
      expect(await (await fetch(`${at}/assets/index-old.js`)).text()).toBe("old();");
      rmSync(join(dir, "assets/index-old.js")); // a rebuild
      writeFileSync(join(dir, "assets/index-new.js"), "new();");
      writeFileSync(join(dir, "index.html"), "<!doctype html><title>after</title>");
      expect((await fetch(`${at}/assets/index-old.js`)).status).toBe(404);
      expect(await (await fetch(`${at}/assets/index-new.js`)).text()).toBe("new();");
      const page = await fetch(`${at}/keys/sms`, { headers: html });
      expect(await page.text()).toContain("after");
      expect(page.headers.get("cache-control")).toBe("no-cache");
      expect((await fetch(`${at}/assets/index-new.js`)).headers.get("cache-control")).toContain("immutable");
    } finally {
      await new Promise((resolve) => http.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("does not offer the development sign-in with JWT_SECRET", async () => {
    await expectNoDevSignIn(base, server);
  });

  it.each([
    ["JWKS_URL", { JWT_SECRET: "", JWKS_URL: "https://issuer.example/.well-known/jwks.json" }],
    ["NODE_ENV=production", { NODE_ENV: "production" }],
  ])("does not offer the development sign-in with %s", async (_name, env) => {
    await server.stop();
    try {
      await withServer(location, env, expectNoDevSignIn);
    } finally {
      server = await startTestServer(location);
      base = `http://127.0.0.1:${server.port}`;
    }
  }, 180_000);

  // The generated development secret exists only on the embedded default.
  it.skipIf(onPostgres)("on the embedded default, signs a token for a user id and role that the API accepts", async () => {
    await server.stop();
    await withServer(location, { JWT_SECRET: "" }, async (base) => {
      const available = await fetch(`${base}${DEV_SIGN_IN_PATH}`, { headers: { accept: "application/json" } });
      expect(await available.json()).toEqual({ available: true, roles: ["owner", "auditor", "gateway", "admin"] });

      const response = await devSignIn(base, { userId: "dora", role: "auditor" });
      expect(response.status).toBe(200);
      const { token } = (await response.json()) as { token: string };
      const verifyLog = await fetch(`${base}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: "{ verifyLog { ok } }" }),
      });
      expect(await verifyLog.json()).toEqual({ data: { verifyLog: { ok: true } } });

      const bad = await devSignIn(base, { userId: " ", role: "owner" });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ code: "BAD_USER_INPUT", field: "userId" });
      expect(await (await devSignIn(base, { userId: "dora", role: "root" })).json()).toMatchObject({ code: "BAD_USER_INPUT", field: "role" });
      expect((await devSignIn(base, { userId: "dora", role: "owner" }, "text/plain")).status).toBe(415);
    });
  }, 180_000);
});

describe("the console's build", () => {
  const consoleSource = resolve(import.meta.dirname, "../../src/console");

  it("keeps the first page's JavaScript under 200 KB gzipped", () => {
    assertConsoleBuilt();
    const dir = defaultConsoleDir();
    const page = readFileSync(join(dir, "index.html"), "utf8");
    const firstPage = [...page.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
    const gzipped = firstPage.reduce((sum, file) => sum + gzipSync(readFileSync(join(dir, file)), { level: 9 }).length, 0);
    expect(firstPage.length).toBeGreaterThan(0);
    expect(gzipped).toBeLessThan(200 * 1024);
  });

  it("imports nothing from the server: only its own files and browser libraries", () => {
    const allowed = new Set(["react", "react-dom", "react-dom/client", "react/jsx-runtime", "wouter", "@tanstack/react-query", "chart.js", "graphql-ws", "@graphql-typed-document-node/core"]);
    // vite.config.ts runs in Node at build time, not in the browser.
    const files = readdirSync(consoleSource, { recursive: true, encoding: "utf8" }).filter((f) => /\.(ts|tsx)$/.test(f) && f !== "vite.config.ts");
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const source = readFileSync(join(consoleSource, file), "utf8");
      for (const [, specifier] of source.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)) {
        if (specifier!.startsWith(".")) {
          const target = relative(consoleSource, resolve(dirname(join(consoleSource, file)), specifier!));
          expect(target.startsWith(".."), `${file} imports ${specifier}`).toBe(false);
        } else {
          expect(allowed.has(specifier!), `${file} imports ${specifier}`).toBe(true);
        }
      }
    }
  });
});
