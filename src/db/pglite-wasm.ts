import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

let compiling: Promise<WebAssembly.Module | undefined> | undefined;

/** Reads the file (9 MB, a few milliseconds) and starts compiling before it returns. */
async function compile(): Promise<WebAssembly.Module> {
  const dist = dirname(createRequire(import.meta.url).resolve("@electric-sql/pglite"));
  return WebAssembly.compile(readFileSync(join(dist, "pglite.wasm")));
}

/**
 * PGlite's WebAssembly module (Postgres), compiled once per process; PGlite takes it as its
 * documented `pgliteWasmModule` option instead of compiling its own. V8 compiles it on background
 * threads, so a start that calls this first (src/main.ts) has the module ready while the main
 * thread loads the server's modules. Undefined when it cannot be compiled here:
 * PGlite then loads it itself, and reports what is wrong.
 */
export function pgliteWasmModule(): Promise<WebAssembly.Module | undefined> {
  return (compiling ??= compile().catch(() => undefined));
}
