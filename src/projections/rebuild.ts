import type { Database } from "../db/database.js";
import { WRITERS_LOCK } from "../eventstore/event-store.js";
import { pauseSealing } from "../eventstore/sealer.js";
import { compareWithLive, createScratchTables, foldLog, foldUnsealedLimits, PROJECTION_TABLES, ReplayState, writeState, type TableDifference } from "./replay.js";

/**
 * Rebuilds every projection from the log in scratch tables and compares them with the live ones.
 * One REPEATABLE READ snapshot sees the log and the live tables at the same instant (the sealer
 * projects in the transaction that positions the events; writers keep key_limits in theirs, so the
 * committed events not sealed yet count there), and nothing needs to stop writing.
 * The long part (reading and folding the log) only reads, so the transaction takes no transaction
 * id until the scratch tables are written at the end, and does not hold back sealing meanwhile.
 */
export async function verifyProjections(db: Database): Promise<{ position: bigint; differences: TableDifference[] }> {
  return db.transaction(async (tx) => {
    await tx.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
    const state = new ReplayState();
    await foldLog(tx, state);
    await foldUnsealedLimits(tx, state);
    await createScratchTables(tx);
    await writeState(tx, state, "pg_temp");
    return { position: state.position, differences: await compareWithLive(tx) };
  });
}

/**
 * Replaces the live projections with a rebuild from the log. The log is folded in memory outside
 * any transaction (sealed events never change, so paging by position is exact); then, in one
 * short transaction under the lock that orders the log (so no event lands in between), the fold
 * catches up and the rows are swapped in, with writers and the sealer held off. Readers see the old rows until the commit and the new
 * ones after: never an empty or half-built table.
 */
export async function rebuildProjections(db: Database): Promise<{ position: bigint }> {
  const state = new ReplayState();
  await foldLog(db, state);
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [WRITERS_LOCK]);
    await pauseSealing(tx);
    await foldLog(tx, state);
    const sealed = state.position;
    await foldUnsealedLimits(tx, state);
    for (const table of PROJECTION_TABLES) await tx.exec(`DELETE FROM public.${table}`);
    await writeState(tx, state, "public");
    return { position: sealed };
  });
}
