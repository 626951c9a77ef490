// npm run build:server (part of npm install's build): the server as ES modules in dist/server,
// what `npm start` runs. Packages are bundled in, so that a start reads a few files instead of
// resolving and loading some 400 modules from node_modules, one by one (Node's module loader was
// the largest part of a restart after PGlite itself: docs/BENCHMARKS.md, start-up). Code splitting
// keeps what a start does not need (the PostgreSQL driver on the embedded default, Prisma's query
// compiler until the first query, OpenTelemetry unless configured) in chunks loaded on first use.
// PGlite stays in node_modules: it loads its WebAssembly and file-system image from beside itself.
// The source map leaves out the sources' text: Node reads and parses the map at every start
// (--enable-source-maps), and stack traces need only the positions.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const repoRoot = fileURLToPath(new URL("../", import.meta.url));

/** Packages left in node_modules: they read files that sit beside their own modules. */
const EXTERNAL = ["@electric-sql/pglite"];

/**
 * Bundles `entry` into `outdir` (emptied first). The outdir must sit two levels below the
 * repository, like dist/server: src/db finds prisma/migrations and dist/pglite relative to itself.
 */
export async function buildServer(entry = join(repoRoot, "src/main.ts"), outdir = join(repoRoot, "dist/server")): Promise<void> {
  rmSync(outdir, { recursive: true, force: true });
  await build({
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
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await buildServer();
