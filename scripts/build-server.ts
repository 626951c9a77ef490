// npm run build:server (part of npm install's build): the server as ES modules in dist/server,
// what `npm start` runs. Packages are bundled in, so that a start reads a few files instead of
// resolving and loading some 400 modules from node_modules, one by one (Node's module loader was
// the largest part of a restart after PGlite itself: docs/BENCHMARKS.md, start-up). Code splitting
// keeps what a start does not need (the PostgreSQL driver on the embedded default, Prisma's query
// compiler until the first query, OpenTelemetry unless configured) in chunks loaded on first use.
// PGlite stays in node_modules: it loads its WebAssembly and file-system image from beside itself.
// The source map leaves out the sources' text: Node reads and parses the map at every start
// (--enable-source-maps), and stack traces need only the positions.
import { readdirSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const repoRoot = fileURLToPath(new URL("../", import.meta.url));

/** Packages left in node_modules: they read files that sit beside their own modules. */
const EXTERNAL = ["@electric-sql/pglite"];

/**
 * Bundles `entry` into `outdir` (written in place: see removeOldChunks). The outdir must sit two levels below the
 * repository, like dist/server: src/db finds prisma/migrations and dist/pglite relative to itself.
 */
export async function buildServer(entry = join(repoRoot, "src/main.ts"), outdir = join(repoRoot, "dist/server")): Promise<void> {
  const startedAt = Date.now();
  const result = await build({
    entryPoints: [entry],
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    external: EXTERNAL,
    sourcemap: true,
    sourcesContent: false,
    // CommonJS packages bundled into ES modules still call require() for Node's built-in modules.
    banner: { js: 'import { createRequire as __keyledgerCreateRequire } from "node:module"; const require = __keyledgerCreateRequire(import.meta.url);' },
    logLevel: "warning",
    metafile: true,
  });
  removeOldChunks(outdir, new Set(Object.keys(result.metafile.outputs).map((path) => resolve(path))) /* relative to the working directory */, startedAt);
}

/** How long the chunks of an earlier build are kept for a server still running on it (it loads some on first use). */
const OLD_CHUNKS_KEPT_MS = 60 * 60_000;

/**
 * Chunk names carry their content's hash, so a rebuild in place leaves an earlier build's chunks
 * beside the new ones: a server started before it can still load those it has not loaded yet.
 * They are removed once older than an hour (everything is loaded by then: the query compiler at
 * the first query, the rest at start).
 */
function removeOldChunks(outdir: string, current: ReadonlySet<string>, builtAt: number): void {
  for (const name of readdirSync(outdir)) {
    const path = join(outdir, name);
    if (current.has(path)) continue;
    if (statSync(path).mtimeMs < builtAt - OLD_CHUNKS_KEPT_MS) rmSync(path, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await buildServer();
