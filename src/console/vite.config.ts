import { readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));
/** The server the dev mode forwards API calls to (npm start in another terminal). */
const api = process.env.KEYLEDGER_API ?? "http://localhost:4000";

const outDir = fileURLToPath(new URL("../../dist/console", import.meta.url));

/** How long an earlier build's assets stay, for browser tabs still running it (pages load on demand). */
const OLD_ASSETS_KEPT_MS = 24 * 3600_000;

/**
 * The build writes over dist/console instead of emptying it: a tab opened before a rebuild can still
 * load the pages it has not opened yet. Assets no build has written for a day are removed.
 */
function removeOldAssets(): Plugin {
  return {
    name: "keyledger-remove-old-assets",
    apply: "build",
    writeBundle(_options, bundle) {
      const assets = join(outDir, "assets");
      const current = new Set(Object.keys(bundle).map((name) => join(outDir, name)));
      for (const name of readdirSync(assets)) {
        const path = join(assets, name);
        if (!current.has(path) && statSync(path).mtimeMs < Date.now() - OLD_ASSETS_KEPT_MS) rmSync(path, { force: true });
      }
    },
  };
}

// The console is built into dist/console, which the server serves at /; assets get hashed names.
export default defineConfig({
  root,
  plugins: [react(), removeOldAssets()],
  build: {
    outDir,
    emptyOutDir: false,
    target: "es2022",
    chunkSizeWarningLimit: 400,
  },
  server: {
    port: 5173,
    proxy: {
      "/graphql": { target: api, ws: true },
      "/auth": api,
      "/events.ndjson": api,
    },
  },
});
