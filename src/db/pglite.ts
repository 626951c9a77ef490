import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite, type PGliteOptions, type Transaction } from "@electric-sql/pglite";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { withQuerySpan } from "../observability/tracing.js";
import { PrismaClient } from "./generated/prisma/client.js";
import { DatabaseClosedError, type Database, type QueryResult, type Row, type Session, type SqlClient, type Unlisten } from "./database.js";
import { acquireDirectoryLock } from "./directory-lock.js";
import { pgliteWasmModule } from "./pglite-wasm.js";

/** A fresh data folder as a tarball, built at install (scripts/build-pglite-seed.ts); the same path from src/db and dist/server. */
export const PGLITE_SEED = fileURLToPath(new URL("../../dist/pglite/initdb.tar", import.meta.url));

/** The seed to load into a data folder that has no database yet (instead of initdb), if it was built. */
function seedFor(pgdata: string): Blob | undefined {
  if (existsSync(join(pgdata, "PG_VERSION")) || !existsSync(PGLITE_SEED)) return undefined;
  return new Blob([readFileSync(PGLITE_SEED)], { type: "application/x-tar" });
}

/**
 * PGlite allocates Postgres' shared memory at every open and zeroes it in WebAssembly on the main
 * thread: with the 128 MB of shared_buffers initdb writes, that was 0.7 s of a 2.9 s restart. An
 * embedded, single-connection database gains little from a large buffer cache (the operating
 * system caches its files too), so it opens with a smaller one.
 */
const PGLITE_SHARED_BUFFERS = "16MB";

async function pgliteOptions(): Promise<PGliteOptions> {
  const compiled = await pgliteWasmModule();
  return {
    ...(compiled ? { pgliteWasmModule: compiled } : {}),
    startParams: [...PGlite.defaultStartParams, "-c", `shared_buffers=${PGLITE_SHARED_BUFFERS}`],
  };
}

function wrap(client: PGlite | Transaction): SqlClient {
  return {
    async query<R extends Row>(text: string, params?: unknown[]): Promise<QueryResult<R>> {
      const result = await withQuerySpan("pglite", text, () => client.query<R>(text, params));
      return { rows: result.rows, affectedRows: result.affectedRows ?? 0 };
    },
    async exec(script: string) {
      await withQuerySpan("pglite", script, () => client.exec(script));
    },
  };
}

/**
 * Embedded PostgreSQL (PGlite) in `dataDir`, or in memory when `dataDir` is undefined.
 * PGlite is a single connection: its transactions are exclusive. One process owns the folder at a time (lock file).
 */
export async function openPglite(dataDir: string | undefined): Promise<Database> {
  let releaseLock: (() => void) | undefined;
  let pglite: PGlite;
  if (dataDir) {
    const dir = resolve(dataDir);
    mkdirSync(dir, { recursive: true });
    releaseLock = acquireDirectoryLock(join(dir, "keyledger.lock"));
    const pgdata = join(dir, "pgdata");
    const seed = seedFor(pgdata);
    pglite = new PGlite(pgdata, { ...(await pgliteOptions()), ...(seed ? { loadDataDir: seed } : {}) });
  } else {
    pglite = new PGlite(await pgliteOptions());
  }
  try {
    await pglite.waitReady;
  } catch (error) {
    releaseLock?.();
    throw error;
  }

  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  const base = wrap(pglite);
  let closed = false;
  let onClosed!: (reason: "closed") => void;
  const closedSignal = new Promise<"closed">((resolve) => (onClosed = resolve));

  return {
    kind: "pglite",
    prisma,
    query: base.query,
    exec: base.exec,
    transaction: (work) => pglite.transaction((tx) => work(wrap(tx))),
    async listen(channel, onNotify): Promise<Unlisten> {
      const unlisten = await pglite.listen(channel, (payload) => onNotify(payload || undefined));
      return async () => {
        if (!closed) await unlisten();
      };
    },
    // One connection: a session is that connection, lost when the database closes.
    async openSession() {
      if (closed) throw new DatabaseClosedError("The database is closed");
      const transaction: Session["transaction"] = (work) => pglite.transaction((tx) => work(wrap(tx)));
      return { ...base, transaction, lost: closedSignal, close: async () => {} };
    },
    async close() {
      if (closed) return;
      closed = true;
      onClosed("closed");
      await prisma.$disconnect().catch(() => {});
      await pglite.close();
      releaseLock?.();
    },
  };
}
