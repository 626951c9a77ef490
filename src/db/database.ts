import type { PrismaClient } from "./generated/prisma/client.js";

export type Row = Record<string, unknown>;

export interface QueryResult<R extends Row = Row> {
  rows: R[];
  affectedRows: number;
}

/** What a transaction (or the pool) can run: parameterised queries and multi-statement scripts. */
export interface SqlClient {
  query<R extends Row = Row>(text: string, params?: unknown[]): Promise<QueryResult<R>>;
  exec(script: string): Promise<void>;
}

export type Unlisten = () => Promise<void>;

/**
 * A connection of its own, outside the pool: session state (an advisory lock) lives exactly as
 * long as it does. `lost` resolves when it is gone: "closed" by its owner or the database's close,
 * "broken" by a fault (the server then releases its locks).
 */
export interface Session extends SqlClient {
  transaction<T>(work: (tx: SqlClient) => Promise<T>): Promise<T>;
  readonly lost: Promise<"closed" | "broken">;
  close(): Promise<void>;
}

/**
 * The one database handle the server holds: embedded PGlite or a PostgreSQL pool.
 * The event store uses SQL directly (advisory locks, multi-row inserts, LISTEN);
 * the read side uses `prisma`, built on the same connections.
 */
export interface Database extends SqlClient {
  readonly kind: "pglite" | "postgres";
  readonly prisma: PrismaClient;
  transaction<T>(work: (tx: SqlClient) => Promise<T>): Promise<T>;
  /** Calls `onNotify` for every NOTIFY on `channel` from any process; also after a reconnect, with no payload. */
  listen(channel: string, onNotify: (payload: string | undefined) => void): Promise<Unlisten>;
  /** A dedicated connection (PGlite: its one connection); closed with the database at the latest. */
  openSession(options: { applicationName: string; idleInTransactionTimeoutMs: number }): Promise<Session>;
  close(): Promise<void>;
}

/** A database error whose cause the caller can act on without parsing messages. */
export class DatabaseUnavailableError extends Error {
  override name = "DatabaseUnavailableError";
}

/** The database handle was closed: nothing more can be opened on it. */
export class DatabaseClosedError extends Error {
  override name = "DatabaseClosedError";
}

export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

export const UNIQUE_VIOLATION = "23505";
