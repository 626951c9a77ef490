import type { SqlClient } from "../../db/database.js";
import type { Projection } from "../parsed-event.js";
import { foldKeys, KEY_DECISIONS, type KeyDecision } from "./fold.js";
import { API_KEY_INSERT, apiKeyColumns, apiKeyInsertParams, toApiKey, type ApiKey, type ApiKeySqlRow } from "./row.js";

/**
 * The per-service key tables (`api_keys`) from the key decisions. A batch costs two statements
 * however many decisions it holds: the touched rows are read, folded in memory, written back.
 */
export const apiKeysProjection: Projection<KeyDecision> = {
  name: "api_keys",
  handles: KEY_DECISIONS,
  async apply(tx, events) {
    const touched = new Set<string>();
    const rotated: string[] = [];
    for (const event of events) {
      touched.add(event.data.keyId);
      if (event.type === "KeyRotated") {
        touched.add(event.data.toKeyId);
        rotated.push(event.data.keyId);
      }
    }
    const rows = await loadKeys(tx, [...touched], rotated);
    const before = new Map(rows);
    for (const event of events) foldKeys(rows, event);
    await writeDecisionColumns(tx, [...rows.values()].filter((row) => row !== before.get(row.id)));
  },
};

/** The touched rows, and the keys that spend a rotated key's limits (a rotation moves them on). */
async function loadKeys(tx: SqlClient, ids: string[], rotated: string[]): Promise<Map<string, ApiKey>> {
  const { rows } = await tx.query<ApiKeySqlRow>(
    `SELECT ${apiKeyColumns()} FROM api_keys WHERE id = ANY($1::uuid[]) OR limits_key_id = ANY($2::uuid[])`,
    [ids, rotated],
  );
  return new Map(rows.map((row) => [row.id, toApiKey(row)]));
}

/** Inserts new keys and updates the columns decisions own; usage columns stay the usage projection's. */
async function writeDecisionColumns(tx: SqlClient, keys: ApiKey[]): Promise<void> {
  if (keys.length === 0) return;
  await tx.query(
    `${API_KEY_INSERT}
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description, status = EXCLUDED.status,
        version = EXCLUDED.version, updated_at = EXCLUDED.updated_at, revoked_at = EXCLUDED.revoked_at,
        revoke_reason = EXCLUDED.revoke_reason, expires_at = EXCLUDED.expires_at, permissions = EXCLUDED.permissions,
        meta = EXCLUDED.meta, ratelimits = EXCLUDED.ratelimits, credits_remaining = EXCLUDED.credits_remaining,
        credits_refill = EXCLUDED.credits_refill, last_refill_at = EXCLUDED.last_refill_at, rotated_from = EXCLUDED.rotated_from,
        rotated_to = EXCLUDED.rotated_to, limits_key_id = EXCLUDED.limits_key_id`,
    apiKeyInsertParams(keys),
  );
}
