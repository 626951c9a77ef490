import type { TokenVerifier } from "../auth/tokens.js";
import type { Authentication } from "../auth/authenticate.js";
import type { ApiKeyCommands } from "../commands/api-keys.js";
import type { KeyVerifier } from "../commands/verify-keys.js";
import type { Database } from "../db/database.js";
import type { EventStore } from "../eventstore/event-store.js";
import type { Logger } from "../server/logger.js";
import type { LogFollower } from "../subscriptions/log-follower.js";
import type { Checkpointer } from "../audit/checkpoints.js";

/** Per-process services the resolvers use; built once at start. */
export interface Dependencies {
  db: Database;
  store: EventStore;
  logger: Logger;
  commands: ApiKeyCommands;
  verifier: KeyVerifier;
  verifyToken: TokenVerifier;
  follower: LogFollower;
  checkpointer: Checkpointer;
  /** What expiry, refills and rate limits read as now (a test injects its own). */
  clock: () => Date;
  /** Undelivered events a subscription may hold before it is closed as too slow. */
  subscriptionBuffer: number;
}

export interface Context extends Dependencies {
  requestId: string;
  /** The verified caller, or why there is none. */
  auth: Authentication;
}
