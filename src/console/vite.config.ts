import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));
/** The server the dev mode forwards API calls to (npm start in another terminal). */
const api = process.env.KEYLEDGER_API ?? "http://localhost:4000";

// The console is built into dist/console, which the server serves at /; assets get hashed names.
export default defineConfig({
  root,
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL("../../dist/console", import.meta.url)),
    emptyOutDir: true,
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
