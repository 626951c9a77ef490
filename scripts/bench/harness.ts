// The one harness every benchmark runs on. It owns what the benchmarks share: the command line
// (the benchmark's options, `--backend` where it has a choice, `--write`, `--help`), the PostgreSQL
// cluster's lifecycle (DATABASE_URL, else a throwaway cluster started and always stopped here), the
// summary printed and written into its section of docs/BENCHMARKS.md, and the exit code.
// A benchmark is its measurement only:
//
//   await runBenchmark({
//     name: "append",                       // `npm run bench:append`, section `bench:append`
//     usage: "[--events 50000] …",
//     options: { events: 50_000, only: "" }, // a number or a string each, with its default
//     backends: ["postgres"],
//     async measure({ opts, cluster }) { …; return { markdown, ok }; },
//   });
import { parseArgs } from "node:util";
import { openCluster, writeSection, type Backend, type Cluster } from "./common.js";

/** A benchmark's own options: each a number or a string, given by its default. */
export type OptionDefaults = Record<string, number | string>;
export type OptionValues<O extends OptionDefaults> = { [K in keyof O]: O[K] extends number ? number : string };

export interface BenchContext<O extends OptionDefaults> {
  opts: OptionValues<O>;
  /** The backends this run covers, in the benchmark's order. */
  backends: Backend[];
  /** Present whenever `backends` includes postgres; stopped by the harness after `measure`. */
  cluster: Cluster | undefined;
  /** Runs `run` once per backend, in order, announcing each; returns the results in that order. */
  eachBackend<R>(run: (backend: Backend) => Promise<R>): Promise<R[]>;
}

export interface BenchOutcome {
  /** The summary printed and, with `--write`, written between the benchmark's markers. None: nothing to write. */
  markdown?: string;
  /** False exits with 1 (a check of the benchmark failed). */
  ok?: boolean;
}

export interface Benchmark<O extends OptionDefaults> {
  /** `bench:NAME` in package.json and the `<!-- bench:NAME:… -->` section in docs/BENCHMARKS.md. */
  name: string;
  /** The options line of `--help`. */
  usage: string;
  options: O;
  /** The backends it can run on, in the order `--backend both` runs them. With two, `--backend` chooses. */
  backends: readonly Backend[];
  /** `--backend`'s default when there is a choice (default "both"). */
  defaultBackend?: Backend | "both";
  measure(context: BenchContext<O>): Promise<BenchOutcome>;
}

export async function runBenchmark<const O extends OptionDefaults>(benchmark: Benchmark<O>): Promise<void> {
  try {
    const { opts, backends, help } = parseCommandLine(benchmark);
    if (help) {
      console.log(`npm run bench:${benchmark.name} [-- ${benchmark.usage}${choosesBackend(benchmark) ? ` [--backend ${benchmark.backends.join("|")}|both]` : ""} [--write]]`);
      return;
    }
    const cluster = backends.includes("postgres") ? openCluster() : undefined;
    let outcome: BenchOutcome;
    try {
      outcome = await benchmark.measure({
        opts,
        backends,
        cluster,
        async eachBackend(run) {
          const results = [];
          for (const backend of backends) {
            console.log(`bench:${benchmark.name} on ${backend}…`);
            results.push(await run(backend));
          }
          return results;
        },
      });
    } finally {
      await cluster?.stop();
    }
    if (outcome.markdown !== undefined) {
      console.log(`\n${outcome.markdown}\n`);
      if (opts.write) writeSection(benchmark.name, outcome.markdown);
    }
    process.exitCode = outcome.ok === false ? 1 : 0;
  } catch (error) {
    console.error(error instanceof UsageError ? `bench:${benchmark.name}: ${error.message}` : error);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  }
}

class UsageError extends Error {}

const choosesBackend = (benchmark: Benchmark<OptionDefaults>) => benchmark.backends.length > 1;

function parseCommandLine<O extends OptionDefaults>(benchmark: Benchmark<O>): { opts: OptionValues<O> & { write: boolean }; backends: Backend[]; help: boolean } {
  const own = Object.fromEntries(Object.entries(benchmark.options).map(([name, value]) => [name, { type: "string" as const, default: String(value) }]));
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        ...own,
        ...(choosesBackend(benchmark) ? { backend: { type: "string" as const, default: benchmark.defaultBackend ?? "both" } } : {}),
        write: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const opts: Record<string, number | string | boolean> = { write: values.write === true };
  for (const [name, fallback] of Object.entries(benchmark.options)) {
    const given = values[name] as string;
    if (typeof fallback === "number") {
      const n = Number(given);
      if (given.trim() === "" || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${given}"`);
      opts[name] = n;
    } else {
      opts[name] = given;
    }
  }
  let backends = [...benchmark.backends];
  if (choosesBackend(benchmark)) {
    const chosen = values.backend as string;
    if (chosen !== "both") {
      if (!benchmark.backends.includes(chosen as Backend)) throw new UsageError(`--backend must be one of ${benchmark.backends.join(", ")}, both; got "${chosen}"`);
      backends = [chosen as Backend];
    }
  }
  return { opts: opts as OptionValues<O> & { write: boolean }, backends, help: values.help === true };
}
