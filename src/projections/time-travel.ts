import type { Database } from "../db/database.js";
import type { ApiKey } from "../db/generated/prisma/client.js";
import { createScratchTables, replayLog } from "./replay.js";
import { parsePosition } from "../eventstore/position.js";

export type AsOf = { position: bigint } | { time: Date };

export interface KeyTableFilter {
  ownerId?: string;
  service?: string;
  statuses: string[];
}

interface ApiKeyRow {
  [column: string]: unknown;
  id: string;
  owner_id: string;
  service: string;
  name: string;
  description: string | null;
  key_hash: string;
  masked_key: string;
  status: string;
  version: number;
  created_position: string;
  created_at: Date;
  updated_at: Date;
  last_used_at: Date | null;
  usage_count: string;
  revoked_at: Date | null;
  revoke_reason: string | null;
}

function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    ownerId: row.owner_id,
    service: row.service,
    name: row.name,
    description: row.description,
    keyHash: row.key_hash,
    maskedKey: row.masked_key,
    status: row.status,
    version: row.version,
    createdPosition: BigInt(row.created_position),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    lastUsedAt: row.last_used_at && new Date(row.last_used_at),
    usageCount: BigInt(row.usage_count),
    revokedAt: row.revoked_at && new Date(row.revoked_at),
    revokeReason: row.revoke_reason,
  };
}

/**
 * The key table as it was at a position (or at the last event that occurred by a time), newest
 * first: the log folded up to that point by the live projections' own code, in scratch tables.
 */
export async function keysAsOf(db: Database, asOf: AsOf, filter: KeyTableFilter): Promise<ApiKey[]> {
  return db.transaction(async (tx) => {
    await tx.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
    let upTo: bigint;
    if ("position" in asOf) {
      upTo = asOf.position;
    } else {
      const { rows } = await tx.query<{ position: string | null }>(
        `SELECT max(position)::text AS position FROM events WHERE occurred_at <= $1`,
        [asOf.time.toISOString()],
      );
      upTo = BigInt(rows[0]?.position ?? 0);
    }
    await createScratchTables(tx);
    if (upTo > 0n) await replayLog(tx, { upTo });
    const { rows } = await tx.query<ApiKeyRow>(
      `SELECT id::text AS id, owner_id, service, name, description, key_hash, masked_key, status, version,
              created_position::text AS created_position, created_at, updated_at, last_used_at,
              usage_count::text AS usage_count, revoked_at, revoke_reason
         FROM pg_temp.api_keys
        WHERE ($1::text IS NULL OR owner_id = $1) AND ($2::text IS NULL OR service = $2) AND status = ANY($3::text[])
        ORDER BY api_keys.created_position DESC`,
      [filter.ownerId ?? null, filter.service ?? null, filter.statuses],
    );
    return rows.map(toApiKey);
  });
}

/** `asOf` as a client writes it: a log position (digits) or an ISO-8601 timestamp. */
export function parseAsOf(value: string): AsOf | undefined {
  const position = parsePosition(value);
  if (position !== undefined) return { position };
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : { time: new Date(time) };
}
