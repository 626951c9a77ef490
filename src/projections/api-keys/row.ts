import type { ApiKey } from "../../db/generated/prisma/client.js";

/** The one shape of an `api_keys` row in code: the Prisma model, whichever way the row was read. */
export type { ApiKey };

/** Selects an `api_keys` row (optionally from `table`, e.g. a scratch copy) in the shape `toApiKey` maps. */
export function apiKeyColumns(table = "api_keys"): string {
  return `${table}.id::text AS id, ${table}.owner_id, ${table}.service, ${table}.name, ${table}.description, ${table}.key_hash,
    ${table}.masked_key, ${table}.status, ${table}.version, ${table}.created_position::text AS created_position,
    ${table}.created_at, ${table}.updated_at, ${table}.last_used_at, ${table}.usage_count::text AS usage_count,
    ${table}.revoked_at, ${table}.revoke_reason`;
}

export interface ApiKeySqlRow {
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
  created_at: Date | string;
  updated_at: Date | string;
  last_used_at: Date | string | null;
  usage_count: string;
  revoked_at: Date | string | null;
  revoke_reason: string | null;
}

const date = (value: Date | string): Date => (value instanceof Date ? value : new Date(value));

/** Maps a row selected with `apiKeyColumns()` to the model. */
export function toApiKey(row: ApiKeySqlRow): ApiKey {
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
    createdAt: date(row.created_at),
    updatedAt: date(row.updated_at),
    lastUsedAt: row.last_used_at === null ? null : date(row.last_used_at),
    usageCount: BigInt(row.usage_count),
    revokedAt: row.revoked_at === null ? null : date(row.revoked_at),
    revokeReason: row.revoke_reason,
  };
}

/** The model as column arrays for one `INSERT … SELECT * FROM unnest(…)` of many rows. */
export const API_KEY_INSERT = `INSERT INTO api_keys (id, owner_id, service, name, description, key_hash, masked_key, status, version,
      created_position, created_at, updated_at, last_used_at, usage_count, revoked_at, revoke_reason)
  SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[],
      $10::bigint[], $11::timestamptz[], $12::timestamptz[], $13::timestamptz[], $14::bigint[], $15::timestamptz[], $16::text[])`;

export function apiKeyInsertParams(keys: readonly ApiKey[]): unknown[] {
  const iso = (value: Date | null) => value?.toISOString() ?? null;
  return [
    keys.map((k) => k.id),
    keys.map((k) => k.ownerId),
    keys.map((k) => k.service),
    keys.map((k) => k.name),
    keys.map((k) => k.description),
    keys.map((k) => k.keyHash),
    keys.map((k) => k.maskedKey),
    keys.map((k) => k.status),
    keys.map((k) => k.version),
    keys.map((k) => k.createdPosition.toString()),
    keys.map((k) => iso(k.createdAt)),
    keys.map((k) => iso(k.updatedAt)),
    keys.map((k) => iso(k.lastUsedAt)),
    keys.map((k) => k.usageCount.toString()),
    keys.map((k) => iso(k.revokedAt)),
    keys.map((k) => k.revokeReason),
  ];
}
