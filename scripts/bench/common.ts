// Shared pieces of the benchmarks: databases (PGlite folder, a database of its own on PostgreSQL,
// or a throwaway cluster), a real server, tokens, percentiles, and docs/BENCHMARKS.md sections.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { signToken } from "../../src/auth/tokens.js";
import type { Role } from "../../src/auth/viewer.js";
import { loadConfig } from "../../src/config.js";
import { startServer, type RunningServer } from "../../src/server/app.js";
import { createLogger } from "../../src/server/logger.js";

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
export const BENCH_JWT_SECRET = "bench-secret-that-is-long-enough-for-hs256-0123456789";

export type Backend = "pglite" | "postgres";

/** A PostgreSQL cluster to benchmark on: DATABASE_URL, or a throwaway one started (and stopped) here. */
export interface Cluster {
  url: string;
  throwaway: boolean;
  stop(): Promise<void>;
}

export function clusterFromEnv(): Cluster | undefined {
  const url = process.env.DATABASE_URL?.trim();
  return url ? { url, throwaway: false, stop: async () => {} } : undefined;
}

export function startThrowawayCluster(): Cluster {
  const script = join(repoRoot, "scripts/pg-throwaway.sh");
  const out = execFileSync(script, ["start"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const url = /DATABASE_URL=(\S+)/.exec(out)?.[1];
  const dir = /KEYLEDGER_PG_DIR=(\S+)/.exec(out)?.[1];
  if (!url || !dir) throw new Error(`unexpected output from pg-throwaway.sh: ${out}`);
  return { url, throwaway: true, stop: async () => void execFileSync(script, ["stop", dir], { stdio: "inherit" }) };
}

/** DATABASE_URL when set, else a throwaway cluster. */
export function openCluster(): Cluster {
  return clusterFromEnv() ?? startThrowawayCluster();
}

/** Where a benchmark keeps its data: a fresh PGlite folder, or a fresh database on the cluster. */
export interface Location {
  backend: Backend;
  databaseUrl: string | undefined;
  dataDir: string;
  drop(): Promise<void>;
}

export async function createLocation(cluster: Cluster | undefined): Promise<Location> {
  const dataDir = mkdtempSync(join(tmpdir(), "keyledger-bench-"));
  if (!cluster) return { backend: "pglite", databaseUrl: undefined, dataDir, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
  const name = `kl_bench_${randomBytes(5).toString("hex")}`;
  await adminQuery(cluster.url, `CREATE DATABASE ${name}`);
  const url = new URL(cluster.url);
  url.pathname = `/${name}`;
  return {
    backend: "postgres",
    databaseUrl: url.toString(),
    dataDir,
    async drop() {
      await adminQuery(cluster.url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A real server (startServer + loadConfig) on a free loopback port, logging nothing. */
export async function startBenchServer(location: Location, env: Record<string, string> = {}): Promise<RunningServer> {
  const config = loadConfig({
    NODE_ENV: "production",
    HOST: "127.0.0.1",
    PORT: "0",
    DATA_DIR: location.dataDir,
    DATABASE_URL: location.databaseUrl ?? "",
    JWT_SECRET: BENCH_JWT_SECRET,
    LOG_LEVEL: "silent",
    SHUTDOWN_TIMEOUT_MS: "2000",
    ...env,
  });
  return startServer(config, createLogger(config.logLevel));
}

export function tokenFor(sub: string, roles: Role[]): Promise<string> {
  return signToken(BENCH_JWT_SECRET, { sub, roles, expiresIn: "2h" });
}

/** POSTs one GraphQL operation and returns its data; throws on errors. */
export async function graphql<T>(url: string, token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (!response.ok || body.errors || !body.data) throw new Error(`GraphQL ${response.status}: ${JSON.stringify(body)}`);
  return body.data;
}

export async function createKeys(url: string, count: number): Promise<Array<{ id: string; secret: string }>> {
  const owner = await tokenFor("bench-owner", ["owner"]);
  const keys: Array<{ id: string; secret: string }> = [];
  for (let i = 0; i < count; i++) {
    const data = await graphql<{ createApiKey: { secret: string; apiKey: { id: string } } }>(
      url,
      owner,
      `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id } } }`,
      { input: { service: "SMS", name: `bench ${i}` } },
    );
    keys.push({ id: data.createApiKey.apiKey.id, secret: data.createApiKey.secret });
  }
  return keys;
}

/** Runs a TypeScript file of this folder in its own Node process through tsx. */
export function runChild(file: string, args: string[]): ChildProcess {
  const tsx = join(repoRoot, "node_modules/.bin/tsx");
  return spawn(tsx, [fileURLToPath(new URL(file, import.meta.url)), ...args], { cwd: repoRoot, stdio: ["pipe", "pipe", "inherit"] });
}

/** Resolves with a child's whole stdout once it exits with 0. */
export function outputOf(child: ChildProcess): Promise<string> {
  let out = "";
  child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) =>
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${child.spawnargs.join(" ")} exited with ${code}`)))),
  );
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }) : "n/a";

export const pct = (ratio: number): string => `${fmt(ratio * 100, 0)}%`;

export function machine(): string {
  const cpu = cpus();
  return `${cpu.length} cores (${cpu[0]?.model.trim() ?? "unknown CPU"}), ${fmt(totalmem() / 2 ** 30, 1)} GiB RAM, Node ${process.version}, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, load average ${fmt(loadavg()[0]!, 2)} at the end (the machine is shared)`;
}

export function markdownTable(header: string[], rows: string[][]): string {
  return [`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

const BENCHMARKS_MD = join(repoRoot, "docs/BENCHMARKS.md");

/**
 * Replaces the generated block of one benchmark in docs/BENCHMARKS.md (between
 * `<!-- bench:NAME:begin -->` and `<!-- bench:NAME:end -->`), appending it when absent.
 * The prose around the blocks is written by hand and left alone.
 */
export function writeSection(name: string, markdown: string): void {
  const begin = `<!-- bench:${name}:begin -->`;
  const end = `<!-- bench:${name}:end -->`;
  const block = `${begin}\n${markdown.trim()}\n${end}`;
  const text = existsSync(BENCHMARKS_MD) ? readFileSync(BENCHMARKS_MD, "utf8") : "# Benchmarks\n";
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  const next = from >= 0 && to > from ? text.slice(0, from) + block + text.slice(to + end.length) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(BENCHMARKS_MD, next);
  console.log(`updated the ${name} section of docs/BENCHMARKS.md`);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
