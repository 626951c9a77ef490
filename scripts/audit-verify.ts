// npm run audit:verify
//   Verifies the configured database (DATABASE_URL or DATA_DIR): recomputes every link of the hash
//   chain, finds altered, missing and truncated events, and checks every checkpoint's signature
//   (keys from signing_keys) and that it signed the recomputed head hash at its position.
//   On embedded PGlite the server must be stopped: one process owns DATA_DIR at a time.
// npm run audit:verify -- --from-file EVENTS.ndjson [--checkpoints FILE --jwks FILE|URL] [--start-position P --start-hash H]
//   Verifies an export (npm run export) without a database. With the events alone it checks only that the
//   file is one unbroken chain from the genesis (or from --start-position/--start-hash for an export made
//   with --after): that proves nothing against someone who rewrote the whole chain. Add --checkpoints (from
//   export --checkpoints-out) and --jwks (export --jwks-out, or the server's /.well-known/jwks.json, better
//   obtained independently of the database) to check the signed checkpoints as well, including truncation.
// Prints the verification as JSON. Exit status: 0 verified, 1 not verified, 2 could not run (usage, unreadable input).
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import type { JSONWebKeySet } from "jose";
import type { Checkpoint } from "../src/audit/checkpoints.js";
import { readCheckpointsFromNdjson } from "../src/audit/ndjson.js";
import { readLogFromNdjson, verifyDatabaseLog, verifyLog, type LogVerification } from "../src/audit/verify-log.js";
import { loadConfig } from "../src/config.js";
import { isMigrated } from "../src/db/migrator.js";
import { openDatabase } from "../src/db/open.js";
import { readHead } from "../src/eventstore/log-reader.js";
import { countLines, counted, observingDatabase, startProgress } from "./progress.js";

const usage =
  "usage: npm run audit:verify [-- --from-file EVENTS.ndjson [--checkpoints FILE --jwks FILE|URL] [--start-position P --start-hash H]]";

const { values } = parseArgs({
  options: {
    "from-file": { type: "string" },
    checkpoints: { type: "string" },
    jwks: { type: "string" },
    "start-position": { type: "string" },
    "start-hash": { type: "string" },
  },
});

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

async function readJwks(source: string): Promise<JSONWebKeySet> {
  if (/^https?:\/\//.test(source)) {
    const response = await fetch(source);
    if (!response.ok) throw new Error(`${source} answered ${response.status}`);
    return (await response.json()) as JSONWebKeySet;
  }
  return JSON.parse(await readFile(source, "utf8")) as JSONWebKeySet;
}

async function verifyFile(file: string): Promise<LogVerification> {
  if (Boolean(values.checkpoints) !== Boolean(values.jwks)) fail(`--checkpoints and --jwks go together\n${usage}`);
  const startPosition = values["start-position"];
  const startHash = values["start-hash"];
  if (Boolean(startPosition) !== Boolean(startHash) || (startPosition && !/^\d+$/.test(startPosition))) {
    fail(`--start-position (a whole number) and --start-hash go together\n${usage}`);
  }
  const checkpoints: AsyncIterable<Checkpoint> | Checkpoint[] = values.checkpoints ? readCheckpointsFromNdjson(values.checkpoints) : [];
  const keys = values.jwks ? await readJwks(values.jwks) : { keys: [] };
  if (!values.checkpoints) console.error("no --checkpoints: checking the chain's links only, not its signatures");
  const start = startPosition && startHash ? { position: BigInt(startPosition), hash: startHash } : undefined;
  const progress = startProgress("audit:verify", await countLines(file));
  const verification = await verifyLog(counted(readLogFromNdjson(file), progress), checkpoints, keys, { start });
  progress.stop();
  return verification;
}

async function verifyDatabase(): Promise<LogVerification> {
  const db = await openDatabase(loadConfig());
  try {
    if (!(await isMigrated(db))) throw new Error("the database is not migrated: run npm run db:migrate (or start the server once)");
    const progress = startProgress("audit:verify", Number((await readHead(db)).position));
    const verification = await verifyDatabaseLog(observingDatabase(db, (position) => progress.update(position)));
    progress.stop();
    return verification;
  } finally {
    await db.close();
  }
}

try {
  const file = values["from-file"];
  const verification = file ? await verifyFile(file) : await verifyDatabase();
  console.log(JSON.stringify(verification, null, 2));
  process.exitCode = verification.ok ? 0 : 1;
} catch (error) {
  console.error(`audit:verify could not run: ${(error as Error).message}`);
  process.exitCode = 2;
}
