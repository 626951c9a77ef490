import type { Database } from "../db/database.js";
import { pauseSealing } from "../eventstore/sealer.js";
import { compareWithLive, createScratchTables, PROJECTION_TABLES, replayLog, type TableDifference } from "./replay.js";

/**
 * Rebuilds every projection from the log in scratch tables and compares them with the live ones.
 * One REPEATABLE READ snapshot sees the log and the live tables at the same instant (projections
 * are written in the appends' transactions), so nothing needs to stop writing meanwhile.
 */
export async function verifyProjections(db: Database): Promise<{ position: bigint; differences: TableDifference[] }> {
  return db.transaction(async (tx) => {
    await tx.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
    await createScratchTables(tx);
    const position = await replayLog(tx);
    return { position, differences: await compareWithLive(tx) };
  });
}

/**
 * Replaces the live projections with a rebuild from the log. The rebuild runs beside the live
 * tables; then, with sealing paused (so no event is sealed in between), it catches up and swaps
 * the rows in. Readers see the old rows until the commit and the new ones after: never an
 * empty or half-built table.
 */
export async function rebuildProjections(db: Database): Promise<{ position: bigint }> {
  return db.transaction(async (tx) => {
    await createScratchTables(tx);
    let position = await replayLog(tx);
    await pauseSealing(tx);
    position = await replayLog(tx, { after: position });
    for (const table of PROJECTION_TABLES) {
      await tx.exec(`DELETE FROM public.${table}; INSERT INTO public.${table} SELECT * FROM pg_temp.${table};`);
    }
    return { position };
  });
}
