import type { Database } from "../db/database.js";
import type { EventStore } from "../eventstore/event-store.js";
import type { Logger } from "../server/logger.js";

/** Per-process services the resolvers use; built once at start. */
export interface Services {
  db: Database;
  store: EventStore;
  logger: Logger;
}

export interface Context extends Services {
  requestId: string;
}
