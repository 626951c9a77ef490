import { loadConfig, type Config } from "../../src/config.js";
import { startServer, type RunningServer } from "../../src/server/app.js";
import { createLogger } from "../../src/server/logger.js";
import type { TestDatabaseLocation } from "./databases.js";

export const TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789";

/** A real server on an ephemeral port over the test file's database. */
export async function startTestServer(
  location: TestDatabaseLocation,
  env: Record<string, string> = {},
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
  const server = await startServer(config, createLogger(config.logLevel));
  return { ...server, config };
}
