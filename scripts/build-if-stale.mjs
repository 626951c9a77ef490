// npm start's `prestart`: rebuilds the server (and the console) when their sources changed since the
// last build, so that a start after `git pull` or an edit never runs an old bundle against new
// sources and migrations. Plain JavaScript: it must run before anything is built.
//   node scripts/build-if-stale.mjs            check, rebuild what is stale
//   node scripts/build-if-stale.mjs --check D  only say what is stale under repository root D (tests)
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** The newest file under `dir` (recursively), skipping `skip` (absolute paths), or undefined. */
function newestFile(dir, skip = []) {
  let newest;
  const walk = (path) => {
    if (skip.includes(path)) return;
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        const mtimeMs = statSync(full).mtimeMs;
        if (!newest || mtimeMs > newest.mtimeMs) newest = { path: full, mtimeMs };
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  return newest;
}

/** What a build's output depends on: its source folders and files, and what it writes last. */
function targets(root) {
  const console = join(root, "src/console");
  const lockfile = join(root, "package-lock.json");
  return [
    { name: "server", script: "build:server", output: join(root, "dist/server/main.js"), sources: [{ dir: join(root, "src"), skip: [console] }], files: [lockfile] },
    { name: "console", script: "build:console", output: join(root, "dist/console/index.html"), sources: [{ dir: console, skip: [] }], files: [lockfile] },
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
    const candidates = [
      ...target.sources.map(({ dir, skip }) => newestFile(dir, skip)),
      ...target.files.filter((file) => existsSync(file)).map((file) => ({ path: file, mtimeMs: statSync(file).mtimeMs })),
    ].filter(Boolean);
    const newest = candidates.reduce((a, b) => (b.mtimeMs > a.mtimeMs ? b : a), { path: "", mtimeMs: -Infinity });
    if (newest.mtimeMs > builtAt) stale.push({ ...target, reason: `${relative(root, newest.path)} changed after ${relative(root, target.output)} was built` });
  }
  return stale;
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const checkOnly = process.argv[2] === "--check";
  const root = checkOnly ? process.argv[3] : fileURLToPath(new URL("..", import.meta.url));
  const stale = staleBuilds(root);
  if (checkOnly) {
    for (const target of stale) console.log(`${target.name}: ${target.reason}`);
  } else {
    for (const target of stale) {
      console.error(`keyledger: ${target.reason}: rebuilding the ${target.name} (npm run ${target.script})`);
      const result = spawnSync("npm", ["run", "--silent", target.script], { cwd: root, stdio: "inherit" });
      if (result.status !== 0) {
        console.error(`keyledger: the ${target.name} build failed; fix it, or run the sources with \`npm run dev\``);
        process.exit(1);
      }
    }
  }
}
