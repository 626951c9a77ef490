import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { withQuerySpan } from "../observability/tracing.js";
import { PrismaClient } from "./generated/prisma/client.js";
import { DatabaseClosedError, DatabaseUnavailableError, type Database, type QueryResult, type Row, type Session, type SqlClient, type Unlisten, sqlState } from "./database.js";

export interface PostgresOptions {
  url: string;
  poolSize: number;
  /** Prepare statements by name on each connection (default); off sends every statement unnamed (an escape hatch). */
  preparedStatements?: boolean;
  /** A transaction left idle this long is ended by the server, so it cannot hold its locks, or the sealer's horizon, for ever. */
  idleInTransactionTimeoutMs?: number;
  onError?: (error: Error) => void;
}

/**
 * Statements are prepared by name on each connection the first time it runs them, so PostgreSQL parses
 * and plans keyledger's hot statements once per connection instead of once per call (planning was a third
 * of the database's time per verification batch). Texts are fixed (lists travel as arrays); the cap only
 * guards against a caller building texts on the fly, whose extra texts then run unnamed.
 */
const MAX_PREPARED_TEXTS = 500;
const preparedNames = new Map<string, string>();

function statementName(text: string): string | undefined {
  let name = preparedNames.get(text);
  if (name === undefined && preparedNames.size < MAX_PREPARED_TEXTS) {
    name = `keyledger_${preparedNames.size + 1}`;
    preparedNames.set(text, name);
  }
  return name;
}

/**
 * pg's own conversion of a parameter, applied before a named statement is sent: a value it cannot
 * convert (a BigInt inside an object, say) then fails the call before the connection is touched.
 * Inside pg it would close the statement on the server while pg still counts it as parsed, and
 * every later call of that text on the connection would fail. (Idempotent: pg's own pass then
 * finds strings.)
 */
const { prepareValue } = (pg as unknown as { utils: { prepareValue(value: unknown): unknown } }).utils;

/**
 * The SQLSTATE (feature_not_supported) of "cached plan must not change result type": another process
 * changed a column a prepared statement returns. Rarer errors of the same class cost only a reconnect.
 */
const PLAN_RESULT_CHANGED = "0A000";

function wrap(client: pg.Pool | pg.PoolClient | pg.Client, prepare: boolean): SqlClient {
  return {
    async query<R extends Row>(text: string, params?: unknown[]): Promise<QueryResult<R>> {
      // Without parameters a text may hold several statements (the simple protocol), which cannot be prepared.
      const name = prepare && params ? statementName(text) : undefined;
      const config = { name, text, values: name ? params!.map((value) => prepareValue(value)) : (params as unknown[]) };
      const result = await withQuerySpan("postgresql", text, () => client.query<R>(config));
      return { rows: result.rows, affectedRows: result.rowCount ?? 0 };
    },
    async exec(script: string) {
      await withQuerySpan("postgresql", script, () => client.query(script));
    },
  };
}

function describeTarget(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
  } catch {
    return "the configured DATABASE_URL";
  }
}

export async function openPostgres(options: PostgresOptions): Promise<Database> {
  const idleTimeout = options.idleInTransactionTimeoutMs ?? 30_000;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    connectionTimeoutMillis: 5_000,
    // temp_buffers: replays and time travel build scratch tables in pg_temp, beyond the 8 MB default
    // on large logs. Memory is taken only by sessions that use them. (Not the main replay cost: see
    // docs/BENCHMARKS.md.)
    options: `-c idle_in_transaction_session_timeout=${idleTimeout} -c TimeZone=UTC -c temp_buffers=128MB`,
    application_name: "keyledger",
  });
  pool.on("error", (error) => options.onError?.(error));

  try {
    await pool.query("SELECT 1");
  } catch (error) {
    await pool.end().catch(() => {});
    throw new DatabaseUnavailableError(
      `Cannot reach PostgreSQL at ${describeTarget(options.url)}: ${(error as Error).message}`,
      { cause: error },
    );
  }

  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: false }) });
  const listeners = new Set<ListenerConnection>();
  const sessions = new Set<Session>();
  let closed = false;
  const prepare = options.preparedStatements ?? true;
  const base = wrap(pool, prepare);

  return {
    kind: "postgres",
    prisma,
    query: base.query,
    exec: base.exec,
    async transaction(work) {
      const client = await pool.connect();
      // A checked-out client has no listener of the pool's: without one, a connection lost
      // mid-transaction (a database restart) is an unhandled 'error' event that ends the process.
      let lost: Error | undefined;
      let failure: unknown;
      const onLost = (error: Error) => {
        lost ??= error;
        options.onError?.(error);
      };
      client.on("error", onLost);
      try {
        await client.query("BEGIN");
        const result = await work(wrap(client, prepare));
        await client.query("COMMIT");
        return result;
      } catch (error) {
        failure = error;
        if (!lost) await client.query("ROLLBACK").catch(() => {});
        throw error;
      } finally {
        client.off("error", onLost);
        // Passing an error makes the pool destroy the connection instead of reusing a dead one, or one
        // whose prepared statements no longer fit the tables (they would fail on it every time).
        client.release(lost ?? (sqlState(failure) === PLAN_RESULT_CHANGED));
      }
    },
    async listen(channel, onNotify): Promise<Unlisten> {
      const connection = new ListenerConnection(options, channel, onNotify);
      await connection.start();
      listeners.add(connection);
      return async () => {
        listeners.delete(connection);
        await connection.stop();
      };
    },
    async openSession({ applicationName, idleInTransactionTimeoutMs }) {
      if (closed) throw new DatabaseClosedError("The database is closed");
      // The connection may end before it is handed out (a failed connect): then there is nothing to forget.
      let session: Session | undefined;
      session = await openSession(options, applicationName, idleInTransactionTimeoutMs, () => session && sessions.delete(session));
      sessions.add(session);
      return session;
    },
    stats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    async close() {
      closed = true;
      await Promise.all([...sessions].map((session) => session.close()));
      await Promise.all([...listeners].map((listener) => listener.stop()));
      listeners.clear();
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

async function openSession(options: PostgresOptions, applicationName: string, idleTimeoutMs: number, onEnd: () => void): Promise<Session> {
  const client = new pg.Client({
    connectionString: options.url,
    application_name: applicationName,
    connectionTimeoutMillis: 5_000,
    options: `-c idle_in_transaction_session_timeout=${idleTimeoutMs} -c TimeZone=UTC`,
  });
  let closing = false;
  let settle!: (reason: "closed" | "broken") => void;
  const lost = new Promise<"closed" | "broken">((resolve) => (settle = resolve));
  client.on("error", (error) => {
    if (!closing) options.onError?.(error);
    settle("broken");
  });
  client.on("end", () => {
    onEnd();
    settle(closing ? "closed" : "broken");
  });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  const base = wrap(client, options.preparedStatements ?? true);
  return {
    ...base,
    lost,
    async transaction(work) {
      await client.query("BEGIN");
      try {
        const result = await work(base);
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      }
    },
    async close() {
      closing = true;
      settle("closed");
      await client.end().catch(() => {});
    },
  };
}

/**
 * A dedicated LISTEN connection that reconnects (with back-off, for as long as it is wanted) and
 * wakes its listener after every reconnect, so a NOTIFY sent while it was away is not missed.
 */
class ListenerConnection {
  private client: pg.Client | undefined;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = RETRY_MIN_MS;

  constructor(
    private readonly options: PostgresOptions,
    private readonly channel: string,
    private readonly onNotify: (payload: string | undefined) => void,
  ) {}

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.url, application_name: "keyledger-listen", connectionTimeoutMillis: 5_000 });
    client.on("notification", (message) => {
      if (message.channel === this.channel) this.onNotify(message.payload);
    });
    // Every error of this client, at any time, is handled here: it never reaches the process.
    client.on("error", (error) => {
      if (this.client === client) this.options.onError?.(error);
      this.lose(client);
    });
    client.on("end", () => this.lose(client));
    try {
      await client.connect();
      await client.query(`LISTEN "${this.channel.replaceAll('"', '""')}"`);
    } catch (error) {
      this.discard(client);
      throw error;
    }
    if (this.stopped) {
      this.discard(client);
      return;
    }
    this.client = client;
    this.retryDelayMs = RETRY_MIN_MS;
  }

  /** The current connection is gone: drop it and connect again soon. Stale clients' events are ignored. */
  private lose(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.discard(client);
    this.reconnectSoon();
  }

  private discard(client: pg.Client): void {
    client.removeAllListeners("end");
    client.removeAllListeners("notification");
    client.end().catch(() => {});
  }

  private reconnectSoon(): void {
    if (this.stopped || this.retryTimer) return;
    this.retryTimer = setTimeout(async () => {
      this.retryTimer = undefined;
      if (this.stopped) return;
      try {
        await this.start();
        if (!this.stopped) this.onNotify(undefined);
      } catch {
        this.retryDelayMs = Math.min(this.retryDelayMs * 2, RETRY_MAX_MS);
        this.reconnectSoon();
      }
    }, this.retryDelayMs);
    this.retryTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners("end");
      await client.end().catch(() => {});
    }
  }
}

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5_000;
