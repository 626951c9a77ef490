// Where bench:startup's time goes: the steps of src/main.ts, startServer and openDependencies, in
// their order, each timed, with each group of modules imported at the point start-up first needs
// it. bench:startup builds this file the way `npm run build` builds src/main.ts (scripts/build-
// server.ts: packages bundled, code split, so that every dynamic import below loads its chunks
// then) and runs it in a fresh Node process on the data folder or database of the start it stands
// for. Prints one JSON line: [step, milliseconds][]. The steps copy the server's sequence on
// purpose, to time its parts; keep them in step with it. What the copy leaves out (Yoga, the
// routes, listening, the first /readyz, spawning the process) is the start's wall time minus the
// sum of these steps, which bench:startup reports as the rest.
const phases: Array<[string, number]> = [];
// performance.now() counts from the process's start: the first reading is Node's own start-up.
let last = performance.now();
phases.push(["Node start-up (until the first line of the bundle runs)", last]);

async function step<T>(name: string, run: () => Promise<T> | T): Promise<T> {
  const value = await run();
  const now = performance.now();
  phases.push([name, now - last]);
  last = now;
  return value;
}

const config = await step("modules: config (zod), and reading it", async () => (await import("../../src/config.js")).loadConfig());
const { pgliteWasmModule } = await import("../../src/db/pglite-wasm.js");
// As src/main.ts: on the embedded default, PGlite's WebAssembly compiles in the background from here on.
if (!config.databaseUrl) void pgliteWasmModule();
await step("modules: server, GraphQL schema (Pothos), Yoga, event store, projections, logger", () =>
  Promise.all([import("../../src/server/app.js"), import("../../src/server/logger.js")]),
);
const { createLogger } = await import("../../src/server/logger.js");
const logger = createLogger(config.logLevel);
const { tokenVerifierFor } = await import("../../src/auth/configured-verifier.js");
await step("token verifier (development secret on the embedded default)", () => tokenVerifierFor(config));
if (!config.databaseUrl) {
  await step("PGlite's WebAssembly: what is left of its compile once the modules are loaded", () => pgliteWasmModule());
}
const { openDatabase } = await import("../../src/db/open.js");
const db = await step(
  config.databaseUrl
    ? "connect to PostgreSQL (with loading pg and the Prisma client)"
    : "PGlite: load its modules and the Prisma client, open the data folder (on a first start: load the install-time seed)",
  () => openDatabase(config),
);
const { migrate } = await import("../../src/db/migrator.js");
await step("migrations (check, and apply on a first start)", () => migrate(db));
const { loadOrCreateSigningKey, SIGNING_JWK_VARIABLE } = await import("../../src/audit/signing.js");
await step("checkpoint signing key", () => loadOrCreateSigningKey(db, { [SIGNING_JWK_VARIABLE]: config.checkpointSigningJwk }));
const { EventStore } = await import("../../src/eventstore/event-store.js");
const { projections } = await import("../../src/projections/index.js");
const { LogFollower } = await import("../../src/subscriptions/log-follower.js");
const follower = new LogFollower(new EventStore(db, projections), db, logger);
await step("log follower start (LISTEN, head read)", () => follower.start());
await step("(after start-up) first Prisma query: the query compiler, paid by the first request", () => db.prisma.apiKey.count());
await follower.stop();
await db.close();
process.stdout.write(JSON.stringify(phases) + "\n");
