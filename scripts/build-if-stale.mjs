// npm start's `prestart`: rebuilds the server (and the console) when their sources changed since the
// last build, so that a start after `git pull` or an edit never runs an old bundle against new
// sources and migrations. Plain JavaScript: it must run before anything is built.
//   node scripts/build-if-stale.mjs             check; regenerate (Prisma client, GraphQL documents) and rebuild what is stale
//   node scripts/build-if-stale.mjs --check [D] only say what is stale under repository root D (tests)
// Builds run one at a time per checkout (dist/.build-lock). KEYLEDGER_SKIP_BUILD_CHECK=1 starts
// whatever is built. Dependencies are compared, not installed: when package-lock.json asks for
// packages node_modules lacks, it says to run `npm install`.
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** What a build reads: editors' swap and backup files are not. */
const SOURCE_FILE = /\.(ts|tsx|mts|js|mjs|json|css|html|graphql|prisma|svg)$/;

/** The newest source file under `dir` (recursively), skipping `skip` (absolute paths), or undefined. */
function newestFile(dir, skip = []) {
  let newest;
  const walk = (path) => {
    if (skip.includes(path)) return;
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && SOURCE_FILE.test(entry.name)) {
        const mtimeMs = statSync(full).mtimeMs;
        if (!newest || mtimeMs > newest.mtimeMs) newest = { path: full, mtimeMs };
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  return newest;
}

/** Each build: its output (written last), its source folder (less what it skips) and the schema its generated code comes from. */
function targets(root) {
  const console = join(root, "src/console");
  return [
    // Generated code is skipped: it is regenerated from the schema (checked) on every rebuild, and
    // its new time would make the next start rebuild again.
    { name: "server", script: "build:server", output: join(root, "dist/server/main.js"), dir: join(root, "src"), skip: [console, join(root, "src/db/generated")], schema: join(root, "prisma/schema.prisma") },
    { name: "console", script: "build:console", output: join(root, "dist/console/index.html"), dir: console, skip: [join(console, "generated")], schema: join(root, "schema.graphql") },
  ];
}

/** Each stale build with the reason: no output yet, or the newest source changed after it. */
export function staleBuilds(root) {
  if (!existsSync(join(root, "src"))) return []; // an installation without sources runs what it has
  const stale = [];
  for (const target of targets(root)) {
    if (!existsSync(target.output)) {
      stale.push({ ...target, reason: `${relative(root, target.output)} is missing` });
      continue;
    }
    const builtAt = statSync(target.output).mtimeMs;
    const schema = existsSync(target.schema) ? { path: target.schema, mtimeMs: statSync(target.schema).mtimeMs } : undefined;
    const newest = [newestFile(target.dir, target.skip), schema].reduce((a, b) => (b && b.mtimeMs > a.mtimeMs ? b : a), { path: "", mtimeMs: -Infinity });
    if (newest.mtimeMs > builtAt) stale.push({ ...target, reason: `${relative(root, newest.path)} changed after ${relative(root, target.output)} was built` });
  }
  return stale;
}

/**
 * Packages package-lock.json names at another version than node_modules holds (npm's record of
 * what it installed, node_modules/.package-lock.json), or that are missing from it; optional and
 * development packages may be missing (another platform's builds, an install without them).
 */
export function outdatedDependencies(root) {
  const read = (path) => (existsSync(path) ? JSON.parse(readFileSync(path, "utf8")).packages ?? {} : undefined);
  const wanted = read(join(root, "package-lock.json"));
  const installed = read(join(root, "node_modules/.package-lock.json"));
  if (!wanted || !installed) return [];
  return Object.entries(wanted)
    .filter(([path, wants]) => {
      if (!path.startsWith("node_modules/")) return false;
      const has = installed[path];
      return has ? has.version !== wants.version : !(wants.optional || wants.dev || wants.devOptional || wants.peer);
    })
    .map(([path, wants]) => `${path.slice("node_modules/".length)}@${wants.version} (installed: ${installed[path]?.version ?? "none"})`);
}

const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

/**
 * Runs `work` holding dist/.build-lock, so that several `npm start`s of one checkout (processes of
 * one PostgreSQL database, say) do not build into dist/ together: the others wait, then find the
 * build fresh. A lock left by a process that died is taken over. Returns what `work` returns.
 */
export function withBuildLock(root, work, { timeoutMs = 10 * 60_000 } = {}) {
  const path = join(root, "dist/.build-lock");
  mkdirSync(join(root, "dist"), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
      const holder = Number(readFileSync(path, "utf8") || NaN);
      if (Number.isInteger(holder) && !isAlive(holder)) {
        unlinkSync(path); // its holder died mid-build
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${path} is held by process ${holder} for too long; remove it if no build is running`);
      if (!told) console.error(`keyledger: another start (process ${holder}) is building; waiting for it`);
      told = true;
      sleepSync(200);
    }
  }
  try {
    return work();
  } finally {
    unlinkSync(path);
  }
}

/**
 * Runs an npm command of the repository (through the npm that runs this one, when it does); with
 * `quiet`, its output is shown only when it fails.
 */
function npmRun(root, args, { quiet = false } = {}) {
  const npm = process.env.npm_execpath;
  const [command, argv] = npm ? [process.execPath, [npm, ...args]] : ["npm", args];
  const result = spawnSync(command, argv, { cwd: root, stdio: quiet ? "pipe" : "inherit", encoding: "utf8" });
  if (result.status !== 0 && quiet) process.stderr.write(`${result.stdout ?? ""}${result.stderr ?? ""}`);
  return result.status === 0;
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const checkOnly = process.argv[2] === "--check";
  const root = (checkOnly && process.argv[3]) || fileURLToPath(new URL("..", import.meta.url));
  const skip = process.env.KEYLEDGER_SKIP_BUILD_CHECK === "1" && !checkOnly;
  const stale = skip ? [] : staleBuilds(root);
  const outdated = skip ? [] : outdatedDependencies(root);
  if (outdated.length > 0) {
    const shown = outdated.slice(0, 3).join(", ") + (outdated.length > 3 ? ` and ${outdated.length - 3} more` : "");
    console.error(`keyledger: package-lock.json asks for packages node_modules does not have (${shown}): run \`npm install\``);
  }
  if (checkOnly) {
    for (const target of stale) console.log(`${target.name}: ${target.reason}`);
  } else if (stale.length > 0) {
    const failed = withBuildLock(root, () => {
      // Another start may have built it while this one waited.
      const still = staleBuilds(root);
      for (const target of still) console.error(`keyledger: ${target.reason}: rebuilding the ${target.name}`);
      if (still.length === 0) return undefined;
      // What the builds compile from generated code: the Prisma client and the GraphQL documents.
      if (!npmRun(root, ["run", "--silent", "generate"], { quiet: true })) return "prisma generate";
      if (!npmRun(root, ["exec", "--", "graphql-codegen", "--config", "codegen.ts", "--silent"], { quiet: true })) return "the GraphQL code generation";
      const broken = still.find((target) => !npmRun(root, ["run", "--silent", target.script]));
      return broken && `the ${broken.name} build`;
    });
    if (failed) {
      console.error(`keyledger: ${failed} failed; fix it, run the sources with \`npm run dev\`, or start what is built with KEYLEDGER_SKIP_BUILD_CHECK=1`);
      process.exit(1);
    }
  }
}
