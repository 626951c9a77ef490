import { ConfigError, loadConfig } from "./config.js";
import { DatabaseUnavailableError } from "./db/database.js";
import { DirectoryLockedError } from "./db/directory-lock.js";
import { MigrationError } from "./db/migrator.js";
import { SigningKeyError } from "./audit/signing.js";
import { startServer } from "./server/app.js";
import { createLogger } from "./server/logger.js";

const EXPECTED_FAILURES = [ConfigError, DatabaseUnavailableError, DirectoryLockedError, MigrationError, SigningKeyError];

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const server = await startServer(config, logger);
  const backend = config.databaseUrl ? "PostgreSQL" : `embedded PGlite in ${config.dataDir}`;
  logger.info({ url: server.url, database: server.services.db.kind }, "keyledger started");
  process.stderr.write(`\nkeyledger is serving ${server.url} (${backend})\n`);
  if (server.devSecretFile) {
    process.stderr.write(
      `Development tokens are signed with the secret in ${server.devSecretFile}. Get one with:\n` +
        `  npm run token -- --sub alice --role owner\n` +
        `and send it as the header  Authorization: Bearer <token>\n`,
    );
  }
  process.stderr.write("\n");

  let signalled = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal }, "shutting down");
    server.stop().then(
      () => {
        logger.info("stopped");
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

main().catch((error: unknown) => {
  if (EXPECTED_FAILURES.some((kind) => error instanceof kind)) {
    process.stderr.write(`keyledger could not start: ${(error as Error).message}\n`);
  } else {
    process.stderr.write(`keyledger could not start: ${(error as Error)?.stack ?? String(error)}\n`);
  }
  process.exit(1);
});
