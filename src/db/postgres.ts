import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/prisma/client.js";
import { DatabaseClosedError, DatabaseUnavailableError, type Database, type QueryResult, type Row, type Session, type SqlClient, type Unlisten } from "./database.js";

export interface PostgresOptions {
  url: string;
  poolSize: number;
  /** A transaction left idle this long is ended by the server, so it cannot hold the append lock for ever. */
  idleInTransactionTimeoutMs?: number;
  onError?: (error: Error) => void;
}

function wrap(client: pg.Pool | pg.PoolClient | pg.Client): SqlClient {
  return {
    async query<R extends Row>(text: string, params?: unknown[]): Promise<QueryResult<R>> {
      const result = await client.query<R>(text, params as unknown[]);
      return { rows: result.rows, affectedRows: result.rowCount ?? 0 };
    },
    async exec(script: string) {
      await client.query(script);
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
  const base = wrap(pool);

  return {
    kind: "postgres",
    prisma,
    query: base.query,
    exec: base.exec,
    async transaction(work) {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const result = await work(wrap(client));
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      } finally {
        client.release();
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
      let session: Session | undefined;
      session = await openSession(options.url, applicationName, idleInTransactionTimeoutMs, () => session && sessions.delete(session));
      sessions.add(session);
      return session;
    },
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

async function openSession(url: string, applicationName: string, idleTimeoutMs: number, onEnd: () => void): Promise<Session> {
  const client = new pg.Client({
    connectionString: url,
    application_name: applicationName,
    options: `-c idle_in_transaction_session_timeout=${idleTimeoutMs} -c TimeZone=UTC`,
  });
  let closing = false;
  let settle!: (reason: "closed" | "broken") => void;
  const lost = new Promise<"closed" | "broken">((resolve) => (settle = resolve));
  client.on("error", () => settle("broken"));
  client.on("end", () => {
    onEnd();
    settle(closing ? "closed" : "broken");
  });
  await client.connect();
  const base = wrap(client);
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

/** A dedicated LISTEN connection that reconnects, and wakes its listener after a reconnect so nothing is missed. */
class ListenerConnection {
  private client: pg.Client | undefined;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: PostgresOptions,
    private readonly channel: string,
    private readonly onNotify: (payload: string | undefined) => void,
  ) {}

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.url, application_name: "keyledger-listen" });
    client.on("notification", (message) => {
      if (message.channel === this.channel) this.onNotify(message.payload);
    });
    client.on("error", (error) => {
      this.options.onError?.(error);
      this.reconnectSoon();
    });
    client.on("end", () => this.reconnectSoon());
    await client.connect();
    await client.query(`LISTEN "${this.channel.replaceAll('"', '""')}"`);
    this.client = client;
  }

  private reconnectSoon(): void {
    if (this.stopped || this.retryTimer) return;
    const old = this.client;
    this.client = undefined;
    old?.removeAllListeners("end");
    old?.end().catch(() => {});
    this.retryTimer = setTimeout(async () => {
      this.retryTimer = undefined;
      if (this.stopped) return;
      try {
        await this.start();
        this.onNotify(undefined);
      } catch {
        this.reconnectSoon();
      }
    }, 500);
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
