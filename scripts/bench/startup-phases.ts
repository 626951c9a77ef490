// Where bench:startup's time goes: the steps of startServer/openServices, in their order, each
// timed, with each group of modules imported at the point start-up first needs it. bench:startup
// bundles this file the way `npm run build` bundles src/main.ts (with code splitting, so that every
// dynamic import below loads its modules then) and runs it in a fresh Node process on the data
// folder or database of the start it stands for. Prints one JSON line: [step, milliseconds][].
// The steps copy openServices' sequence on purpose, to time its parts; keep them in step with it.
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

const { loadConfig } = await step("modules: config (zod)", () => import("../../src/config.js"));
const config = loadConfig();
const { createLogger } = await step("modules: logger (pino)", () => import("../../src/server/logger.js"));
const logger = createLogger(config.logLevel);
const { tokenVerifierFor } = await step("modules: auth (jose)", () => import("../../src/auth/configured-verifier.js"));
const { verifyToken } = await step("token verifier (development secret on the embedded default)", () => tokenVerifierFor(config));
const { openDatabase } = await step("modules: database (PGlite, pg, Prisma client)", () => import("../../src/db/open.js"));
const db = await step(config.databaseUrl ? "connect to PostgreSQL" : "PGlite: open the data folder (on a first start: load the install-time seed, or initdb without one)", () => openDatabase(config));
const { migrate } = await step("modules: migrator", () => import("../../src/db/migrator.js"));
await step("migrations (check, and apply on a first start)", () => migrate(db));
const app = await step("modules: server, GraphQL schema (Pothos), Yoga, event store, projections", () => import("../../src/server/app.js"));
void app;
const { loadOrCreateSigningKey, SIGNING_JWK_VARIABLE } = await step("modules: audit", () => import("../../src/audit/signing.js"));
await step("checkpoint signing key", () => loadOrCreateSigningKey(db, { [SIGNING_JWK_VARIABLE]: config.checkpointSigningJwk }));
const { EventStore } = await import("../../src/eventstore/event-store.js");
const { projections } = await import("../../src/projections/index.js");
const { LogFollower } = await import("../../src/subscriptions/log-follower.js");
const follower = new LogFollower(new EventStore(db, projections), db, logger);
await step("log follower start (LISTEN, head read)", () => follower.start());
await step("(after start-up) first Prisma query: the query compiler, paid by the first request", () => db.prisma.apiKey.count());
void verifyToken;
await follower.stop();
await db.close();
process.stdout.write(JSON.stringify(phases) + "\n");
