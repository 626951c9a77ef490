import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { join } from "node:path";
import { repoRoot } from "./processes.js";

const PGBIN = process.env.PGBIN ?? "/usr/lib/postgresql/15/bin";
const script = join(repoRoot, "scripts/pg-throwaway.sh");

/** A PostgreSQL cluster of the test file's own (scripts/pg-throwaway.sh), which the test may restart. */
export interface OwnCluster {
  url: string;
  /** Restarts the cluster without blocking the caller's event loop. */
  restart(): Promise<void>;
  stop(): void;
}

async function asPostgres(command: string, args: string[]): Promise<void> {
  const root = process.getuid?.() === 0;
  await promisify(execFile)(root ? "runuser" : command, root ? ["-u", "postgres", "--", command, ...args] : args);
}

export function startOwnCluster(): OwnCluster {
  const exports = execFileSync(script, ["start"], { encoding: "utf8" });
  const url = /DATABASE_URL=(\S+)/.exec(exports)?.[1];
  const dir = /KEYLEDGER_PG_DIR=(\S+)/.exec(exports)?.[1];
  if (!url || !dir) throw new Error(`pg-throwaway.sh printed no cluster: ${exports}`);
  return {
    url,
    // -m fast: every session is terminated at once, mid-transaction too, as a crash-restart or failover would.
    restart: () => asPostgres(join(PGBIN, "pg_ctl"), ["-D", join(dir, "data"), "-l", join(dir, "server.log"), "-m", "fast", "-w", "-t", "60", "restart"]),
    stop: () => execFileSync(script, ["stop", dir], { stdio: "ignore" }),
  };
}
