import { describe, expect, it } from "vitest";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { GraphQLClient } from "graphql-request";
import { CreateKeyDocument, ListKeysDocument } from "./generated/graphql.js";
import { onPostgres, withTestLocation } from "./support/databases.js";
import { runTs } from "./support/processes.js";
import { startTestServer } from "./support/server.js";

describe("zero-setup development secret", () => {
  it.skipIf(onPostgres)("creates a secret in DATA_DIR, prints how to get a token, and never logs secrets or tokens", async () => {
    await withTestLocation(async (location) => {
      const env = { PORT: "0", HOST: "127.0.0.1", DATA_DIR: location.dataDir, DATABASE_URL: "", JWT_SECRET: "", LOG_LEVEL: "info" };
      const server = runTs("src/main.ts", [], env);
      let banner = "";
      const url = await new Promise<string>((resolve) => {
        server.child.stderr!.on("data", (chunk: Buffer) => {
          banner += chunk.toString();
          const match = /serving (http:\/\/\S+)/.exec(banner);
          if (match && banner.includes("npm run token")) resolve(match[1]!);
        });
      });
      // With a DATA_DIR of its own, the command names it: the secret is there.
      expect(banner).toContain(`DATA_DIR=${location.dataDir} npm run token -- --sub alice --role owner`);
      const secretFile = join(location.dataDir, "dev-jwt-secret");
      expect(existsSync(secretFile)).toBe(true);
      expect(statSync(secretFile).mode & 0o077).toBe(0);

      const issued = await runTs("scripts/token.ts", ["--sub", "alice", "--role", "owner"], env).done;
      expect(issued.code).toBe(0);
      const token = issued.stdout.trim();
      const client = new GraphQLClient(url, { headers: { authorization: `Bearer ${token}` } });
      const { createApiKey } = await client.request(CreateKeyDocument, { input: { service: "SMS", name: "first" } });
      expect((await client.request(ListKeysDocument, {})).apiKeys.totalCount).toBe(1);

      server.child.kill("SIGTERM");
      const { stdout, stderr } = await server.done;
      const logs = stdout + stderr;
      expect(logs).toContain('"msg":"request"');
      expect(logs).not.toContain(createApiKey.secret);
      expect(logs).not.toContain(token);
    });
  });

  it("refuses to start on PostgreSQL without JWT_SECRET or JWKS_URL", async () => {
    await withTestLocation(async (location) => {
      await expect(
        startTestServer({ ...location, databaseUrl: location.databaseUrl ?? "postgres://127.0.0.1:1/none" }, { JWT_SECRET: "" }),
      ).rejects.toThrow(/set JWT_SECRET \(HS256\) or JWKS_URL/);
    });
  });

  it("turns introspection off when configured", async () => {
    await withTestLocation(async (location) => {
      const server = await startTestServer(location, { INTROSPECTION: "false" });
      try {
        const response = await fetch(server.url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: "{ __schema { types { name } } }" }),
        });
        const body = (await response.json()) as { errors?: Array<{ message: string }> };
        expect(body.errors?.[0]?.message).toMatch(/introspection/i);
      } finally {
        await server.stop();
      }
    });
  });
});
