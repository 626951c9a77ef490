import type { SqlClient } from "../db/database.js";
import type { EventData } from "../domain/events.js";
import { maskKey } from "../domain/key-format.js";
import type { InlineProjection } from "../eventstore/projection-hook.js";
import type { RecordedEvent } from "../eventstore/types.js";

/** The per-service key tables (`api_keys`), from KeyCreated, KeyToggled, KeyUpdated and KeyRevoked. */
export const apiKeysProjection: InlineProjection = {
  name: "api_keys",
  async apply(tx, events) {
    for (const event of events) await applyKeyEvent(tx, event);
  },
};

export async function applyKeyEvent(tx: SqlClient, event: RecordedEvent): Promise<void> {
  const at = event.occurredAt.toISOString();
  switch (event.type) {
    case "KeyCreated": {
      const d = event.data as EventData<"KeyCreated">;
      await tx.query(
        `INSERT INTO api_keys (id, owner_id, service, name, description, key_hash, masked_key, status, version,
                               created_position, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'ACTIVE', $8, $9, $10, $10)`,
        [d.keyId, d.ownerId, d.service, d.name, d.description, d.keyHash, maskKey(d.display), event.streamVersion, event.position.toString(), at],
      );
      return;
    }
    case "KeyToggled": {
      const d = event.data as EventData<"KeyToggled">;
      await tx.query(`UPDATE api_keys SET status = $2, version = $3, updated_at = $4 WHERE id = $1`, [d.keyId, d.to, event.streamVersion, at]);
      return;
    }
    case "KeyUpdated": {
      const d = event.data as EventData<"KeyUpdated">;
      await tx.query(
        `UPDATE api_keys SET name = CASE WHEN $2 THEN $3 ELSE name END,
                             description = CASE WHEN $4 THEN $5 ELSE description END,
                             version = $6, updated_at = $7
          WHERE id = $1`,
        [d.keyId, d.name !== undefined, d.name?.to ?? null, d.description !== undefined, d.description?.to ?? null, event.streamVersion, at],
      );
      return;
    }
    case "KeyRevoked": {
      const d = event.data as EventData<"KeyRevoked">;
      await tx.query(
        `UPDATE api_keys SET status = 'REVOKED', revoked_at = $2, revoke_reason = $3, version = $4, updated_at = $2 WHERE id = $1`,
        [d.keyId, at, d.reason, event.streamVersion],
      );
      return;
    }
  }
}
