import { ConfigError, DEFAULT_DATA_DIR, loadConfig } from "./config.js";
import { pgliteWasmModule } from "./db/pglite-wasm.js";

/** Failures with a message meant for the operator (no stack trace). Loaded when needed: see main. */
async function isExpectedFailure(error: unknown): Promise<boolean> {
  const [{ DatabaseUnavailableError }, { DirectoryLockedError }, { MigrationError }, { SigningKeyError }] = await Promise.all([
    import("./db/database.js"),
    import("./db/directory-lock.js"),
    import("./db/migrator.js"),
    import("./audit/signing.js"),
  ]);
  return [ConfigError, DatabaseUnavailableError, DirectoryLockedError, MigrationError, SigningKeyError].some((kind) => error instanceof kind);
}

/** The DATA_DIR the token command must be given to sign with this server's development secret ("" for the default). */
function signingEnvironment(dataDir: string): string {
  if (dataDir === DEFAULT_DATA_DIR) return "";
  return `DATA_DIR=${/^[\w./-]+$/.test(dataDir) ? dataDir : `'${dataDir.replace(/'/g, "'\\''")}'`} `;
}

async function main(): Promise<void> {
  const config = loadConfig();
  // Start-up time (docs/BENCHMARKS.md): PGlite's WebAssembly compiles off the main thread while
  // the main thread loads the server's modules, imported only now.
  if (!config.databaseUrl) void pgliteWasmModule();
  const [{ startServer }, { createLogger }] = await Promise.all([import("./server/app.js"), import("./server/logger.js")]);
  const logger = createLogger(config.logLevel);
  const server = await startServer(config, logger);
  const backend = config.databaseUrl ? "PostgreSQL" : `embedded PGlite in ${config.dataDir}`;
  logger.info({ url: server.url, database: server.services.db.kind }, "keyledger started");
  process.stderr.write(`\nkeyledger is serving ${server.url} (${backend})\n`);
  if (server.devSecretFile) {
    process.stderr.write(
      `Development tokens are signed with the secret in ${server.devSecretFile}. Get one with:\n` +
        `  ${signingEnvironment(config.dataDir)}npm run token -- --sub alice --role owner\n` +
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

main().catch(async (error: unknown) => {
  if (await isExpectedFailure(error).catch(() => false)) {
    process.stderr.write(`keyledger could not start: ${(error as Error).message}\n`);
  } else {
    process.stderr.write(`keyledger could not start: ${(error as Error)?.stack ?? String(error)}\n`);
  }
  process.exit(1);
});
