// npm run bench:startup [-- --runs 5] [--backend pglite|postgres|both] [--write]
// Time from spawning the server to its first 200 on /readyz: a first start (fresh data folder or
// database: PGlite initialisation, migrations, development secret, signing key) and a restart on
// what the first start left. Two commands in the same run, interleaved: what `npm start` runs now
// (node on the bundle `npm run build` writes; built here first so that it is current) and what it
// ran before (tsx on the TypeScript sources). Median of `--runs` each, with the server process's
// CPU time (its whole process tree) at the moment it was ready, which moves less than wall time
// on a shared machine. And where the time goes: scripts/bench/startup-phases.ts, built alike, run
// in each run after the starts (same load) on a fresh and on a used location, median per step.
// PostgreSQL: DATABASE_URL when set (a database of its own per start pair), else a throwaway cluster.
import { execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { buildServer } from "../build-server.js";
import { BENCH_JWT_SECRET, createLocation, fmt, machine, markdownTable, repoRoot, sleep, type Backend, type Cluster, type Location } from "./common.js";
import { runBenchmark } from "./harness.js";

const BUNDLE = "dist/server/main.js";
const PHASES_BUNDLE_DIR = "dist/bench";

interface Command {
  name: string;
  argv: string[];
}

const COMMANDS: Command[] = [
  { name: `\`node ${BUNDLE}\` (npm start)`, argv: [process.execPath, "--enable-source-maps", BUNDLE] },
  { name: "`tsx src/main.ts` (npm start before)", argv: [join(repoRoot, "node_modules/.bin/tsx"), "src/main.ts"] },
];

interface Start {
  ms: number;
  cpuMs: number;
}

function serverEnv(location: Location): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HOST: "127.0.0.1",
    PORT: "0",
    DATA_DIR: location.dataDir,
    DATABASE_URL: location.databaseUrl ?? "",
    // The embedded default makes its own development secret; PostgreSQL needs one given.
    JWT_SECRET: location.databaseUrl ? BENCH_JWT_SECRET : "",
    LOG_LEVEL: "warn",
  };
}

const TICK_MS = 1000 / Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

/** User + system CPU time of a process and its descendants (tsx runs the server in a child). */
function treeCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    const own = (Number(fields[11]) + Number(fields[12])) * TICK_MS;
    const children = readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number),
    );
    return own + children.reduce((sum, child) => sum + treeCpuMs(child), 0);
  } catch {
    return 0;
  }
}

/** Spawns the server, waits for /readyz to answer 200, stops it with SIGTERM and waits for its exit. */
async function startOnce(command: Command, location: Location): Promise<Start> {
  const started = performance.now();
  const child = spawn(command.argv[0]!, command.argv.slice(1), { cwd: repoRoot, env: serverEnv(location), stdio: ["ignore", "ignore", "pipe"] });
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  try {
    let output = "";
    const base = await new Promise<string>((resolve, reject) => {
      child.stderr!.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        const match = /serving (http:\/\/\S+)\/graphql/.exec(output);
        if (match) resolve(match[1]!);
      });
      void exited.then((code) => reject(new Error(`${command.name} exited with ${code} before serving:\n${output}`)));
    });
    for (;;) {
      const ready = await fetch(`${base}/readyz`).then((r) => r.status === 200, () => false);
      if (ready) break;
      if (performance.now() - started > 300_000) throw new Error(`${command.name}: not ready after 300 s`);
      await sleep(5);
    }
    return { ms: performance.now() - started, cpuMs: treeCpuMs(child.pid!) };
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}

type Phases = Array<[string, number]>;

async function buildPhasesProbe(): Promise<string> {
  // Built as the server is, at the same depth as dist/server/main.js.
  await buildServer(join(repoRoot, "scripts/bench/startup-phases.ts"), join(repoRoot, PHASES_BUNDLE_DIR));
  return join(repoRoot, PHASES_BUNDLE_DIR, "startup-phases.js");
}

async function phasesOnce(probe: string, location: Location): Promise<Phases> {
  const child = spawn(process.execPath, [probe], { cwd: repoRoot, env: serverEnv(location), stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  if (code !== 0) throw new Error(`startup-phases exited with ${code}`);
  return JSON.parse(out) as Phases;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Median per step over the runs (steps are the same in every run). */
function medianPhases(runs: Phases[]): Phases {
  return runs[0]!.map(([name], i) => [name, median(runs.map((r) => r[i]![1]))]);
}

/**
 * Each run: one first start and one restart of each command, then the phases probe on a fresh
 * location and again on it, each on a location of its own, so that the steps and the starts they
 * are compared with meet the same load on this shared machine.
 */
async function measure(cluster: Cluster | undefined, runs: number): Promise<Omit<BackendResult, "backend">> {
  const probe = await buildPhasesProbe();
  const starts = new Map(COMMANDS.map((c) => [c.name, { first: [] as Start[], restart: [] as Start[] }]));
  const first: Phases[] = [];
  const restart: Phases[] = [];
  for (let run = 1; run <= runs; run++) {
    for (const command of COMMANDS) {
      const location = await createLocation(cluster);
      try {
        const firstStart = await startOnce(command, location);
        const restartStart = await startOnce(command, location);
        starts.get(command.name)!.first.push(firstStart);
        starts.get(command.name)!.restart.push(restartStart);
        console.log(`run ${run} ${command.name}: first start ${fmt(firstStart.ms)} ms (CPU ${fmt(firstStart.cpuMs)} ms), restart ${fmt(restartStart.ms)} ms (CPU ${fmt(restartStart.cpuMs)} ms)`);
      } finally {
        await location.drop();
      }
    }
    const location = await createLocation(cluster);
    try {
      first.push(await phasesOnce(probe, location));
      restart.push(await phasesOnce(probe, location));
    } finally {
      await location.drop();
    }
  }
  return { starts, phases: { first: medianPhases(first), restart: medianPhases(restart) } };
}

interface BackendResult {
  backend: Backend;
  starts: Map<string, { first: Start[]; restart: Start[] }>;
  phases: { first: Phases; restart: Phases };
}

const TARGETS = { first: 5_000, restart: 2_000 };

function report(results: BackendResult[], runs: number): string {
  const cell = (starts: Start[], target: number, judged: boolean) => {
    const ms = median(starts.map((s) => s.ms));
    const verdict = judged ? (ms < target ? " (< " + fmt(target / 1000) + " s: met)" : " (< " + fmt(target / 1000) + " s: **missed**)") : "";
    return `${fmt(ms)}${verdict}`;
  };
  const rows = results.flatMap((r) =>
    COMMANDS.map((c, i) => {
      const s = r.starts.get(c.name)!;
      const judged = i === 0 && r.backend === "pglite";
      return [
        r.backend,
        c.name,
        cell(s.first, TARGETS.first, judged),
        fmt(median(s.first.map((x) => x.cpuMs))),
        cell(s.restart, TARGETS.restart, judged),
        fmt(median(s.restart.map((x) => x.cpuMs))),
        s.restart.map((x) => fmt(x.ms)).join(", "),
      ];
    }),
  );
  const phaseTables = results.flatMap((r) => {
    const total = (p: Phases) => p.filter(([name]) => !name.startsWith("(after")).reduce((sum, [, ms]) => sum + ms, 0);
    const npmStart = r.starts.get(COMMANDS[0]!.name)!;
    // Negative when the load moved between the starts and the probe's runs: then it says nothing.
    const rest = (starts: Start[], p: Phases) => {
      const ms = median(starts.map((s) => s.ms)) - total(p);
      return ms >= 0 ? fmt(ms) : `n/a (${fmt(ms)}: the load changed)`;
    };
    return [
      "",
      `Where the time goes on ${r.backend} (scripts/bench/startup-phases.ts: the server's start-up steps in a fresh process, built like the server; median of ${runs}; ms of wall time):`,
      "",
      markdownTable(
        ["step", "first start", "restart"],
        [
          ...r.phases.first.map(([name, ms], i) => [name, fmt(ms), fmt(r.phases.restart[i]![1])]),
          ["**sum of the start-up steps**", `**${fmt(total(r.phases.first))}**`, `**${fmt(total(r.phases.restart))}**`],
          [
            "the rest: spawning the process, Yoga and the routes, listening, the first `/readyz` (npm start's median above minus the sum)",
            rest(npmStart.first, r.phases.first),
            rest(npmStart.restart, r.phases.restart),
          ],
        ],
      ),
    ];
  });
  return [
    `Command: \`npm run bench:startup\`: time from spawning the server to its first 200 on \`/readyz\`, median of ${runs} (ms); a first start on a fresh`,
    "data folder or database, then a restart on it; the two commands interleaved. CPU: user + system time of the server's process tree when it was ready.",
    `Machine: ${machine()}.`,
    "",
    markdownTable(["backend", "command", "first start ms", "CPU ms", "restart ms", "CPU ms", "restarts, every run"], rows),
    ...phaseTables,
  ].join("\n");
}

await runBenchmark({
  name: "startup",
  usage: "[--runs 5]",
  options: { runs: 5 },
  backends: ["pglite", "postgres"],
  defaultBackend: "pglite",
  async measure({ opts, cluster, eachBackend }) {
    execFileSync("npm", ["run", "--silent", "build:server"], { cwd: repoRoot, stdio: "inherit" });
    const results = await eachBackend(async (backend): Promise<BackendResult> => {
      const on = backend === "postgres" ? cluster : undefined;
      return { backend, ...(await measure(on, opts.runs)) };
    });
    return { markdown: report(results, opts.runs) };
  },
});
