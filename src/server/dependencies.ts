import type { TokenVerifier } from "../auth/tokens.js";
import { ApiKeyCommands } from "../commands/api-keys.js";
import { KeyVerifier } from "../commands/verify-keys.js";
import type { Config } from "../config.js";
import { migrate } from "../db/migrator.js";
import { openDatabase } from "../db/open.js";
import { EventStore } from "../eventstore/event-store.js";
import type { Dependencies } from "../graphql/context.js";
import { projections } from "../projections/index.js";
import { LogFollower } from "../subscriptions/log-follower.js";
import { Checkpointer, signCheckpoint } from "../audit/checkpoints.js";
import { loadOrCreateSigningKey, SIGNING_JWK_VARIABLE } from "../audit/signing.js";
import type { Logger } from "./logger.js";

/** The longest a clean stop waits for the sealer to seal what is committed. */
const DRAIN_ON_CLOSE_MS = 5_000;

/** Opens and migrates the database and builds everything the resolvers use; `close` undoes it. */
export async function openDependencies(
  config: Config,
  logger: Logger,
  verifyToken: TokenVerifier,
  clock: () => Date = () => new Date(),
): Promise<Dependencies & { close(): Promise<void> }> {
  const db = await openDatabase(config, (error) => logger.error({ err: error }, "database connection error"));
  try {
    const report = await migrate(db);
    if (report.applied.length > 0) logger.info({ applied: report.applied }, "migrations applied");
    if (report.unknown.length > 0) logger.warn({ unknown: report.unknown }, "database has migrations this release does not know");
    const store = new EventStore(db, { ...projections, clock, logger });
    const signingKey = await loadOrCreateSigningKey(db, { [SIGNING_JWK_VARIABLE]: config.checkpointSigningJwk });
    const checkpointer = new Checkpointer(db, signingKey, { onError: (err) => logger.error({ err }, "checkpoint signing failed") });
    checkpointer.start(config.checkpointIntervalMs);
    const follower = new LogFollower(store, db, logger);
    await follower.start();
    return {
      db,
      store,
      logger,
      commands: new ApiKeyCommands(store, { clock }),
      verifier: new KeyVerifier(db, store, clock),
      clock,
      verifyToken,
      follower,
      subscriptionBuffer: config.subscriptionBuffer,
      checkpointer,
      async close() {
        await checkpointer.stop();
        // A clean stop seals what is committed (within a bound: the database may be away), and
        // leaves the head signed, so an auditor can check everything up to it.
        await Promise.race([store.drained().catch(() => {}), new Promise((resolve) => setTimeout(resolve, DRAIN_ON_CLOSE_MS).unref())]);
        await signCheckpoint(db, signingKey).catch((err: unknown) => logger.error({ err }, "final checkpoint failed"));
        await follower.stop();
        await store.close();
        await db.close();
      },
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}
