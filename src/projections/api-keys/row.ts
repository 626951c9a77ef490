import type { ApiKey } from "../../db/generated/prisma/client.js";

/** The one shape of an `api_keys` row in code: the Prisma model, whichever way the row was read. */
export type { ApiKey };

/** Selects an `api_keys` row (optionally from `table`, e.g. a scratch copy) in the shape `toApiKey` maps. */
export function apiKeyColumns(table = "api_keys"): string {
  return `${table}.id::text AS id, ${table}.owner_id, ${table}.service, ${table}.name, ${table}.description, ${table}.key_hash,
    ${table}.masked_key, ${table}.status, ${table}.version, ${table}.created_position::text AS created_position,
    ${table}.created_at, ${table}.updated_at, ${table}.last_used_at, ${table}.usage_count::text AS usage_count,
    ${table}.revoked_at, ${table}.revoke_reason, ${table}.expires_at, ${table}.permissions, ${table}.meta, ${table}.ratelimits,
    ${table}.credits_remaining::text AS credits_remaining, ${table}.credits_refill, ${table}.last_refill_at,
    ${table}.rotated_from::text AS rotated_from, ${table}.rotated_to::text AS rotated_to, ${table}.limits_key_id::text AS limits_key_id`;
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
  expires_at: Date | string | null;
  permissions: string[];
  meta: ApiKey["meta"];
  ratelimits: ApiKey["ratelimits"];
  credits_remaining: string | null;
  credits_refill: ApiKey["creditsRefill"];
  last_refill_at: Date | string | null;
  rotated_from: string | null;
  rotated_to: string | null;
  limits_key_id: string;
}

const date = (value: Date | string): Date => (value instanceof Date ? value : new Date(value));
const maybeDate = (value: Date | string | null): Date | null => (value === null ? null : date(value));

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
    lastUsedAt: maybeDate(row.last_used_at),
    usageCount: BigInt(row.usage_count),
    revokedAt: maybeDate(row.revoked_at),
    revokeReason: row.revoke_reason,
    expiresAt: maybeDate(row.expires_at),
    permissions: row.permissions,
    meta: row.meta,
    ratelimits: row.ratelimits,
    creditsRemaining: row.credits_remaining === null ? null : BigInt(row.credits_remaining),
    creditsRefill: row.credits_refill,
    lastRefillAt: maybeDate(row.last_refill_at),
    rotatedFrom: row.rotated_from,
    rotatedTo: row.rotated_to,
    limitsKeyId: row.limits_key_id,
  };
}

/** The model as column arrays for one `INSERT … SELECT * FROM unnest(…)` of many rows. */
export const API_KEY_INSERT = `INSERT INTO api_keys (id, owner_id, service, name, description, key_hash, masked_key, status, version,
      created_position, created_at, updated_at, last_used_at, usage_count, revoked_at, revoke_reason, expires_at, permissions, meta,
      ratelimits, credits_remaining, credits_refill, last_refill_at, rotated_from, rotated_to, limits_key_id)
  SELECT id, owner_id, service, name, description, key_hash, masked_key, status, version, created_position, created_at, updated_at,
      last_used_at, usage_count, revoked_at, revoke_reason, expires_at, ARRAY(SELECT jsonb_array_elements_text(permissions)), meta,
      ratelimits, credits_remaining, credits_refill, last_refill_at, rotated_from, rotated_to, limits_key_id
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[],
      $10::bigint[], $11::timestamptz[], $12::timestamptz[], $13::timestamptz[], $14::bigint[], $15::timestamptz[], $16::text[],
      $17::timestamptz[], $18::jsonb[], $19::jsonb[], $20::jsonb[], $21::bigint[], $22::jsonb[], $23::timestamptz[], $24::uuid[],
      $25::uuid[], $26::uuid[])
      AS k(id, owner_id, service, name, description, key_hash, masked_key, status, version, created_position, created_at, updated_at,
      last_used_at, usage_count, revoked_at, revoke_reason, expires_at, permissions, meta, ratelimits, credits_remaining,
      credits_refill, last_refill_at, rotated_from, rotated_to, limits_key_id)`;

export function apiKeyInsertParams(keys: readonly ApiKey[]): unknown[] {
  const iso = (value: Date | null) => value?.toISOString() ?? null;
  const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));
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
    keys.map((k) => iso(k.expiresAt)),
    keys.map((k) => JSON.stringify(k.permissions)),
    keys.map((k) => json(k.meta)),
    keys.map((k) => JSON.stringify(k.ratelimits)),
    keys.map((k) => k.creditsRemaining?.toString() ?? null),
    keys.map((k) => json(k.creditsRefill)),
    keys.map((k) => iso(k.lastRefillAt)),
    keys.map((k) => k.rotatedFrom),
    keys.map((k) => k.rotatedTo),
    keys.map((k) => k.limitsKeyId),
  ];
}
