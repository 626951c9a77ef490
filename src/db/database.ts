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
  /** Connections of the pool (PostgreSQL only): for metrics. */
  stats?(): { total: number; idle: number; waiting: number };
}

/** A database error whose cause the caller can act on without parsing messages. */
export class DatabaseUnavailableError extends Error {
  override name = "DatabaseUnavailableError";
}

// Connection failures (node and libpq codes), PostgreSQL's class 08 and shutdown/start-up states
// (57P01-57P03), and Prisma's "can't reach / closed the connection / pool timeout" codes.
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EPIPE", "EHOSTUNREACH", "57P01", "57P02", "57P03",
  "P1001", "P1002", "P1008", "P1017", "P2024",
]);
const UNAVAILABLE_MESSAGES =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Cannot use a pool after calling end|Client has encountered a connection error|Connection (closed|refused)|server closed the connection|terminating connection|the database system is (shutting down|starting up|in recovery mode)/i;

/**
 * True when `error` (or one of its causes) says the database cannot be reached or is restarting:
 * the operation did not happen (a transaction that lost its connection is rolled back) and may be retried.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  let e = error as { code?: unknown; cause?: unknown; message?: unknown; originalCode?: unknown } | undefined;
  for (let depth = 0; e && typeof e === "object" && depth < 6; depth++) {
    if (e instanceof DatabaseUnavailableError) return true;
    for (const code of [e.code, e.originalCode]) {
      if (typeof code === "string" && (UNAVAILABLE_CODES.has(code) || code.startsWith("08"))) return true;
    }
    if (typeof e.message === "string" && UNAVAILABLE_MESSAGES.test(e.message)) return true;
    e = e.cause as typeof e;
  }
  return false;
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
