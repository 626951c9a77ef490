import type { SqlClient } from "../../db/database.js";
import type { Projection } from "../parsed-event.js";
import { foldKey, KEY_DECISIONS, type KeyDecision } from "./fold.js";
import { API_KEY_INSERT, apiKeyColumns, apiKeyInsertParams, toApiKey, type ApiKey, type ApiKeySqlRow } from "./row.js";

/**
 * The per-service key tables (`api_keys`) from the key decisions. A batch costs two statements
 * however many decisions it holds: the touched rows are read, folded in memory, written back.
 */
export const apiKeysProjection: Projection<KeyDecision> = {
  name: "api_keys",
  handles: KEY_DECISIONS,
  async apply(tx, events) {
    const rows = await loadKeys(tx, [...new Set(events.map((event) => event.data.keyId))]);
    for (const event of events) {
      const row = foldKey(rows.get(event.data.keyId), event);
      if (row) rows.set(row.id, row);
    }
    await writeDecisionColumns(tx, [...rows.values()]);
  },
};

async function loadKeys(tx: SqlClient, ids: string[]): Promise<Map<string, ApiKey>> {
  const { rows } = await tx.query<ApiKeySqlRow>(`SELECT ${apiKeyColumns()} FROM api_keys WHERE id = ANY($1::uuid[])`, [ids]);
  return new Map(rows.map((row) => [row.id, toApiKey(row)]));
}

/** Inserts new keys and updates the columns decisions own; usage columns stay the usage projection's. */
async function writeDecisionColumns(tx: SqlClient, keys: ApiKey[]): Promise<void> {
  if (keys.length === 0) return;
  await tx.query(
    `${API_KEY_INSERT}
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description, status = EXCLUDED.status,
        version = EXCLUDED.version, updated_at = EXCLUDED.updated_at, revoked_at = EXCLUDED.revoked_at,
        revoke_reason = EXCLUDED.revoke_reason`,
    apiKeyInsertParams(keys),
  );
}
