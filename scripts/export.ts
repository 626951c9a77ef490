// npm run export -- --out FILE [--after P] [--owner USER_ID] [--checkpoints-out FILE] [--jwks-out FILE]
// Writes the configured database's log (DATABASE_URL or DATA_DIR) as NDJSON, one event per line,
// up to the head at the start. --owner exports only that owner's keys (not chain-verifiable: it has gaps).
// --checkpoints-out and --jwks-out write what `npm run audit:verify -- --from-file` needs to check signatures.
// On embedded PGlite the server must be stopped: one process owns DATA_DIR at a time.
import { createWriteStream } from "node:fs";
import { writeFile } from "node:fs/promises";
import { Transform, type Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { parseArgs } from "node:util";
import { exportCheckpointsNdjson, exportNdjson, ownerStreamIds } from "../src/audit/export.js";
import { jwks } from "../src/audit/signing.js";
import { loadConfig } from "../src/config.js";
import type { Database } from "../src/db/database.js";
import { isMigrated } from "../src/db/migrator.js";
import { openDatabase } from "../src/db/open.js";
import { readHead } from "../src/eventstore/log-reader.js";
import { startProgress, type Progress } from "./progress.js";

const usage = "usage: npm run export -- --out FILE [--after POSITION] [--owner USER_ID] [--checkpoints-out FILE] [--jwks-out FILE]";

const { values } = parseArgs({
  options: {
    out: { type: "string" },
    after: { type: "string", default: "0" },
    owner: { type: "string" },
    "checkpoints-out": { type: "string" },
    "jwks-out": { type: "string" },
  },
});
if (!values.out || !/^\d+$/.test(values.after)) {
  console.error(usage);
  process.exit(2);
}

/** Counts the lines passing through into `progress`. */
function countingLines(progress: Progress): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      let lines = 0;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      progress.increment(lines);
      done(null, chunk);
    },
  });
}

async function writeNdjsonFile(path: string, write: (out: Writable) => Promise<unknown>, progress?: Progress) {
  const out = createWriteStream(path);
  const counter = progress ? countingLines(progress) : undefined;
  counter?.pipe(out);
  try {
    await write(counter ?? out);
  } catch (error) {
    counter?.destroy();
    out.destroy();
    throw error;
  }
  (counter ?? out).end();
  await finished(out);
}

async function run(db: Database, out: string): Promise<void> {
  if (!(await isMigrated(db))) throw new Error("the database is not migrated: run npm run db:migrate (or start the server once)");
  const filter = values.owner ? { streamIds: await ownerStreamIds(db, values.owner) } : undefined;
  let summary = { eventsWritten: 0n, lastPosition: 0n };
  // An owner's export writes fewer events than this: the bar then ends early.
  const progress = startProgress("export", Math.max(0, Number((await readHead(db)).position) - Number(values.after)));
  await writeNdjsonFile(
    out,
    async (stream) => {
      summary = await exportNdjson(db, BigInt(values.after), stream, { filter });
    },
    progress,
  );
  progress.stop();
  console.error(`wrote ${summary.eventsWritten} events to ${out} (last position ${summary.lastPosition})`);
  if (values["checkpoints-out"]) {
    await writeNdjsonFile(values["checkpoints-out"], (stream) => exportCheckpointsNdjson(db, stream));
    console.error(`wrote checkpoints to ${values["checkpoints-out"]}`);
  }
  if (values["jwks-out"]) {
    await writeFile(values["jwks-out"], JSON.stringify(await jwks(db), null, 2) + "\n");
    console.error(`wrote public keys to ${values["jwks-out"]}`);
  }
}

// Opening fails too with a message of its own (the folder locked by a running server, a database down).
const db = await openDatabase(loadConfig()).catch((error: Error) => {
  console.error(`export could not run: ${error.message}`);
  process.exit(2);
});
try {
  await run(db, values.out);
} catch (error) {
  console.error(`export failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await db.close();
}
