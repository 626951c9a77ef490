import { describe, expect, it } from "vitest";
import { GraphQLClient, gql } from "graphql-request";
import { createClient } from "graphql-ws";
import { createServer } from "node:net";
import WebSocket from "ws";
import { ConfigError, loadConfig } from "../src/config.js";
import { backendName, withTestLocation } from "./support/databases.js";
import { tokenFor } from "./support/clients.js";
import { runTs, servingUrl } from "./support/processes.js";
import { useTestServer, startTestServer, TEST_JWT_SECRET } from "./support/server.js";

const HEALTH = gql`
  query Health {
    health {
      ok
      database
      headPosition
    }
  }
`;

describe(`server (${backendName})`, () => {
  const server = useTestServer();

  it("answers /healthz and /readyz", async () => {
    const base = server.url.replace("/graphql", "");
    const alive = await fetch(`${base}/healthz`);
    expect(alive.status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true });
  });

  it("serves GraphQL over HTTP and echoes the request id", async () => {
    const client = new GraphQLClient(server.url, { headers: { "x-request-id": "req-42" } });
    const { data, headers } = await client.rawRequest<{ health: { ok: boolean; database: string } }>(HEALTH);
    expect(data.health).toMatchObject({ ok: true, database: backendName });
    expect(headers.get("x-request-id")).toBe("req-42");
  });

  it("serves GraphQL over graphql-ws on the same port and path", async () => {
    const client = createClient({
      url: server.url.replace("http", "ws"),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${await tokenFor("alice")}` },
    });
    const result = await new Promise<unknown>((resolve, reject) => {
      let value: unknown;
      client.subscribe({ query: HEALTH }, { next: (v) => (value = v), error: reject, complete: () => resolve(value) });
    });
    await client.dispose();
    expect(result).toMatchObject({ data: { health: { ok: true, database: backendName } } });
  });

  it("refuses abusive queries (graphql-armor): too many aliases", async () => {
    const post = async (query: string) =>
      (await (
        await fetch(server.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) })
      ).json()) as { data?: unknown; errors?: Array<{ message: string }> };
    const aliases = await post(`{ ${Array.from({ length: 30 }, (_, i) => `h${i}: health { ok }`).join(" ")} }`);
    expect(aliases.data).toBeUndefined();
    expect(aliases.errors?.[0]?.message).toMatch(/alias/i);
    const fine = await post(`{ ${Array.from({ length: 5 }, (_, i) => `h${i}: health { ok }`).join(" ")} }`);
    expect(fine.errors).toBeUndefined();
  });

  it("answers a malformed query with a GraphQL error, not a crash", async () => {
    const response = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ health { nope } }" }),
    });
    const body = (await response.json()) as { errors: Array<{ message: string }> };
    expect(body.errors[0]!.message).toMatch(/nope/);
  });
});

describe("configuration", () => {
  it("rejects bad values with a message naming each variable", () => {
    expect(() => loadConfig({ PORT: "abc" })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: "abc", DATABASE_URL: "mysql://x", LOG_LEVEL: "loud" })).toThrow(
      /PORT="abc".*\n.*DATABASE_URL="mysql:\/\/x".*\n.*LOG_LEVEL="loud"/,
    );
    expect(() => loadConfig({ JWT_SECRET: "short" })).toThrow(/JWT_SECRET/);
    expect(() => loadConfig({ SHUTDOWN_TIMEOUT_MS: "10s" })).toThrow('SHUTDOWN_TIMEOUT_MS="10s": must be a whole number of milliseconds');
    expect(() => loadConfig({ DB_POOL_SIZE: "0" })).toThrow('DB_POOL_SIZE="0": must be between 1 and 1000');
  });

  it("defaults to embedded PGlite in ./.keyledger on port 4000", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 4000, databaseUrl: undefined, dataDir: "./.keyledger", dbPreparedStatements: true });
  });

  it("lets prepared statements be turned off for a pooler that cannot keep them", () => {
    expect(loadConfig({ DB_PREPARED_STATEMENTS: "false" })).toMatchObject({ dbPreparedStatements: false });
    expect(() => loadConfig({ DB_PREPARED_STATEMENTS: "sometimes" })).toThrow(/DB_PREPARED_STATEMENTS/);
  });

  it("turns GraphiQL and introspection off in production unless asked for", () => {
    expect(loadConfig({ NODE_ENV: "production" })).toMatchObject({ graphiql: false, introspection: false });
    expect(loadConfig({ NODE_ENV: "production", GRAPHIQL: "true" })).toMatchObject({ graphiql: true });
  });

  it("exits with a clear message when the server cannot start", async () => {
    const badPort = await runTs("src/main.ts", [], { PORT: "abc", DATABASE_URL: "" }).done;
    expect(badPort.code).toBe(1);
    expect(badPort.stderr).toContain('PORT="abc": must be a number');
    const unreachable = await runTs("src/main.ts", [], { PORT: "0", DATABASE_URL: "postgres://127.0.0.1:1/none", JWT_SECRET: TEST_JWT_SECRET }).done;
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain("Cannot reach PostgreSQL at 127.0.0.1:1/none");
  });

  it("says plainly that its port is taken, once", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    try {
      await withTestLocation(async (location) => {
        const port = String((taken.address() as { port: number }).port);
        const env = { PORT: port, HOST: "127.0.0.1", DATA_DIR: location.dataDir, DATABASE_URL: location.databaseUrl ?? "", JWT_SECRET: TEST_JWT_SECRET };
        const busy = await runTs("src/main.ts", [], env).done;
        expect(busy.code).toBe(1);
        expect(busy.stderr).toContain("keyledger could not start: Error: listen EADDRINUSE");
        expect(busy.stderr).not.toContain("WebSocket server");
      });
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

describe(`restart and shutdown (${backendName})`, () => {
  it("keeps the log across a restart of the server", async () => {
    await withTestLocation(async (location) => {
      const first = await startTestServer(location);
      await first.services.store.append("restart-stream", 0, [{ type: "Kept", schemaVersion: 1, data: { n: 1 } }]);
      await first.stop();
      const second = await startTestServer(location);
      const events = await second.services.store.readStream("restart-stream");
      expect(events.map((e) => [e.type, e.data])).toEqual([["Kept", { n: 1 }]]);
      await second.stop();
    });
  });

  it("shuts down cleanly on SIGTERM, releasing the data folder for the next start", async () => {
    await withTestLocation(async (location) => {
      const env = {
        PORT: "0",
        HOST: "127.0.0.1",
        DATA_DIR: location.dataDir,
        DATABASE_URL: location.databaseUrl ?? "",
        JWT_SECRET: TEST_JWT_SECRET,
        LOG_LEVEL: "info",
      };
      const first = runTs("src/main.ts", [], env);
      const url = await servingUrl(first.child);
      const response = await new GraphQLClient(url).request<{ health: { ok: boolean } }>(HEALTH);
      expect(response.health.ok).toBe(true);
      first.child.kill("SIGTERM");
      const finished = await first.done;
      expect(finished.code).toBe(0);
      expect(finished.stdout).toContain('"msg":"stopped"');
      const second = await startTestServer(location);
      await second.stop();
    });
  });
});
