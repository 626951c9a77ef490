// npm run replay -- --verify            rebuild every projection from the log beside the live tables and compare
// npm run replay -- --rebuild           replace the live projections from the log (readers never see a half-built table)
// npm run replay -- --from-file FILE [--verify]
//                                       replay an NDJSON export into an embedded in-memory database; with --verify,
//                                       compare the result with the configured database's live tables
import { parseArgs } from "node:util";
import { readLogFromNdjson } from "../src/audit/ndjson.js";
import { loadConfig } from "../src/config.js";
import type { SqlClient } from "../src/db/database.js";
import { migrate } from "../src/db/migrator.js";
import { openDatabase } from "../src/db/open.js";
import { openPglite } from "../src/db/pglite.js";
import { rebuildProjections, verifyProjections } from "../src/projections/rebuild.js";
import { foldEvents, PROJECTION_TABLES, ReplayState, writeState } from "../src/projections/replay.js";
import { readHead } from "../src/eventstore/log-reader.js";
import { countLines, counted, observingDatabase, startProgress } from "./progress.js";

const { values } = parseArgs({
  options: { verify: { type: "boolean" }, rebuild: { type: "boolean" }, "from-file": { type: "string" } },
});

const print = (value: unknown) => console.log(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2));

async function tableRows(sql: SqlClient, table: string): Promise<Set<string>> {
  const { rows } = await sql.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM public.${table} t`);
  return new Set(rows.map((r) => r.row));
}

async function fromFile(file: string, compare: boolean): Promise<boolean> {
  const scratch = await openPglite(undefined);
  try {
    await migrate(scratch);
    const progress = startProgress("replay", await countLines(file));
    const state = new ReplayState();
    await foldEvents(counted(readLogFromNdjson(file), progress), state);
    progress.stop();
    await scratch.transaction((tx) => writeState(tx, state, "public"));
    const { position, count } = state;
    const { rows: summary } = await scratch.query(
      `SELECT service, status, count(*)::int AS keys, sum(usage_count)::text AS uses FROM api_keys GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    if (!compare) {
      print({ file, events: count, lastPosition: position, keys: summary });
      return true;
    }
    const live = await openDatabase(loadConfig());
    try {
      const differences = [];
      for (const table of PROJECTION_TABLES) {
        const [replayed, current] = await Promise.all([tableRows(scratch, table), tableRows(live, table)]);
        const onlyLive = [...current].filter((row) => !replayed.has(row)).slice(0, 20).map((row) => JSON.parse(row));
        const onlyReplayed = [...replayed].filter((row) => !current.has(row)).slice(0, 20).map((row) => JSON.parse(row));
        if (onlyLive.length || onlyReplayed.length) differences.push({ table, onlyLive, onlyReplayed });
      }
      print({ file, events: count, lastPosition: position, differences });
      return differences.length === 0;
    } finally {
      await live.close();
    }
  } finally {
    await scratch.close();
  }
}

async function main(): Promise<boolean> {
  if (values["from-file"]) return fromFile(values["from-file"], Boolean(values.verify));
  if (!values.verify && !values.rebuild) {
    console.error("usage: npm run replay -- --verify | --rebuild | --from-file FILE [--verify]");
    process.exit(2);
  }
  const db = await openDatabase(loadConfig());
  const { rows } = await db.query<{ events: string | null }>(`SELECT to_regclass('public.events')::text AS events`);
  if (!rows[0]?.events) {
    await db.close();
    console.error("This database has no keyledger log yet: start the server once (npm start) or run npm run db:migrate.");
    process.exit(1);
  }
  const progress = startProgress(values.rebuild ? "rebuild" : "replay --verify", Number((await readHead(db)).position));
  const observed = observingDatabase(db, (position) => progress.update(position));
  try {
    if (values.rebuild) {
      const { position } = await rebuildProjections(observed);
      progress.stop();
      print({ rebuilt: PROJECTION_TABLES, position });
      return true;
    }
    const { position, differences } = await verifyProjections(observed);
    progress.stop();
    print({ position, differences });
    return differences.length === 0;
  } finally {
    await db.close();
  }
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (error: unknown) => {
    console.error((error as Error).message);
    process.exit(1);
  },
);
