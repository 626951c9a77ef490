import type { Database, SqlClient } from "../../src/db/database.js";

class Rollback extends Error {}

/** Tampers inside a transaction, inspects what an auditor would see, then rolls everything back. */
export async function whileTampered<T>(db: Database, tamper: (tx: SqlClient) => Promise<unknown>, inspect: (tx: SqlClient) => Promise<T>): Promise<T> {
  let seen: T | undefined;
  await db
    .transaction(async (tx) => {
      await tamper(tx);
      seen = await inspect(tx);
      throw new Rollback();
    })
    .catch((error: unknown) => {
      if (!(error instanceof Rollback)) throw error;
    });
  return seen as T;
}
