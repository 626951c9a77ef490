import type { TokenVerifier } from "../auth/tokens.js";
import type { Viewer } from "../auth/viewer.js";
import type { ApiKeyCommands } from "../commands/api-keys.js";
import type { Database } from "../db/database.js";
import type { EventStore } from "../eventstore/event-store.js";
import type { Logger } from "../server/logger.js";

/** Per-process services the resolvers use; built once at start. */
export interface Services {
  db: Database;
  store: EventStore;
  logger: Logger;
  commands: ApiKeyCommands;
  verifyToken: TokenVerifier;
}

export interface Context extends Services {
  requestId: string;
  /** The verified caller, or why there is none. */
  auth: { viewer: Viewer } | { error: Error };
}
