import { afterAll, beforeAll } from "vitest";
import { loadConfig, type Config } from "../../src/config.js";
import type { Database, SqlClient } from "../../src/db/database.js";
import { startServer, type RunningServer, type ServerOptions } from "../../src/server/app.js";
import { createLogger } from "../../src/server/logger.js";
import { createTestLocation, type TestDatabaseLocation } from "./databases.js";

export const TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789";

/** A real server on an ephemeral port over the test file's database. */
export async function startTestServer(
  location: TestDatabaseLocation,
  env: Record<string, string> = {},
  options: ServerOptions = {},
): Promise<RunningServer & { config: Config }> {
  const config = loadConfig({
    NODE_ENV: "test",
    HOST: "127.0.0.1",
    PORT: "0",
    DATA_DIR: location.dataDir,
    DATABASE_URL: location.databaseUrl ?? "",
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    SHUTDOWN_TIMEOUT_MS: "2000",
    ...env,
  });
  const server = await startServer(config, createLogger(config.logLevel), options);
  return { ...server, services: { ...server.services, db: readingOwnWrites(server.services.db, () => server.services.store.caughtUp()) }, config };
}

/**
 * The server's database handle as a test reads it: each read first waits until what the server
 * committed is sealed, as the server's own queries do (a verification answers on commit; the
 * sealer counts it milliseconds later). The server itself keeps the plain handle.
 */
function readingOwnWrites(db: Database, caughtUp: () => Promise<void>): Database {
  return Object.assign(Object.create(db) as Database, {
    query: async (text: string, params?: unknown[]) => {
      await caughtUp();
      return db.query(text, params);
    },
    transaction: async <T>(work: (tx: SqlClient) => Promise<T>) => {
      await caughtUp();
      return db.transaction(work);
    },
  });
}

/** The server of a `describe` block, with the database location it runs on. */
export type TestServer = RunningServer & { config: Config; location: TestDatabaseLocation };

/**
 * The test server fixture: registers, in the calling `describe`, a `beforeAll` that creates a fresh
 * database location and starts a server on it, and an `afterAll` that stops the server and drops the
 * location. The object returned is filled in by that `beforeAll`, so read it only inside hooks and tests.
 * `env` may be a function when it depends on something an earlier `beforeAll` set up.
 */
export function useTestServer(env: Record<string, string> | (() => Record<string, string>) = {}, options: ServerOptions = {}): TestServer {
  const fixture = {} as TestServer;
  beforeAll(async () => {
    fixture.location = await createTestLocation();
    Object.assign(fixture, await startTestServer(fixture.location, typeof env === "function" ? env() : env, options));
  });
  afterAll(async () => {
    await fixture.stop?.();
    await fixture.location?.drop();
  });
  return fixture;
}
