import { z } from "zod";
import type { Database, SqlClient } from "../db/database.js";
import { SEALED_RECORD_COLUMNS, toRecordedEvent, type EventRow } from "../eventstore/rows.js";
import { parsePosition } from "../eventstore/position.js";
import { foldKeys, KEY_DECISIONS } from "./api-keys/fold.js";
import { apiKeyColumns, toApiKey, type ApiKey, type ApiKeySqlRow } from "./api-keys/row.js";
import { isType, parseKnown } from "./parsed-event.js";

export type AsOf = { position: bigint } | { time: Date };

export interface KeyTableFilter {
  ownerId?: string;
  service?: string;
  statuses: string[];
}

/**
 * The key table as it was at a position (or at the last event that occurred by a time), newest
 * first. Only the keys that can be in the answer are looked at: those created by then with the
 * filter's owner and service (both fixed at creation). Their decision events up to that point are
 * folded by the live projection's own fold, and their uses are counted from an index; the cost
 * follows the size of the answer, not of the log. One read-only snapshot, no transaction id.
 */
export async function keysAsOf(db: Database, asOf: AsOf, filter: KeyTableFilter): Promise<ApiKey[]> {
  return db.transaction(async (tx) => {
    await tx.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    const upTo = "position" in asOf ? asOf.position : await positionAt(tx, asOf.time);
    if (upTo <= 0n) return [];
    if (upTo >= (await headPosition(tx))) return liveTable(tx, filter);
    const bound = await boundAt(tx, upTo);
    const keys = await foldDecisions(tx, await candidateKeys(tx, upTo, filter), bound);
    const table = keys.filter((key) => filter.statuses.includes(key.status));
    await countUses(tx, table, bound);
    await creditBalances(tx, table, bound);
    return table.sort((a, b) => (a.createdPosition < b.createdPosition ? 1 : a.createdPosition > b.createdPosition ? -1 : 0));
  });
}

async function headPosition(tx: SqlClient): Promise<bigint> {
  const { rows } = await tx.query<{ head: string | null }>(`SELECT position::text AS head FROM log_seal`);
  return BigInt(rows[0]?.head ?? 0);
}

/**
 * "Up to position P" as a condition on `event_records r`. The sealer positions records in
 * (transaction id, sequence) order, so up to P is up to P's record in that order: an index range on
 * (stream, txid, seq), with no look-up of each record's position. After a restore into another
 * cluster (transaction ids started again) that order no longer follows positions, and each record's
 * seal is looked up instead.
 */
type Bound = { sql: (param: number) => string; params: string[]; latestFirst: string };

async function boundAt(tx: SqlClient, upTo: bigint): Promise<Bound> {
  const { rows } = await tx.query<{ txid: string; seq: string; rebased: boolean }>(
    `SELECT r.txid::text AS txid, r.seq::text AS seq, (SELECT reset_guard <> '0'::xid8 FROM log_seal) AS rebased
       FROM event_seals s JOIN event_records r ON r.seq = s.seq WHERE s.position = $1`,
    [upTo.toString()],
  );
  const at = rows[0]!;
  if (at.rebased) {
    return {
      sql: (n) => `EXISTS (SELECT 1 FROM event_seals s WHERE s.seq = r.seq AND s.position <= $${n})`,
      params: [upTo.toString()],
      latestFirst: "position DESC",
    };
  }
  return { sql: (n) => `(r.txid, r.seq) <= ($${n}::xid8, $${n + 1}::bigint)`, params: [at.txid, at.seq], latestFirst: "r.txid DESC, r.seq DESC" };
}

/**
 * At (or past) the head the answer is the live table: projections are written in the transaction
 * that positions the events, so in one snapshot they are exactly the fold of the log up to its head.
 */
async function liveTable(tx: SqlClient, filter: KeyTableFilter): Promise<ApiKey[]> {
  const { rows } = await tx.query<ApiKeySqlRow>(
    `SELECT ${apiKeyColumns()} FROM api_keys
      WHERE ($1::text IS NULL OR owner_id = $1) AND ($2::text IS NULL OR service = $2) AND status = ANY($3::text[])
      ORDER BY api_keys.created_position DESC`,
    [filter.ownerId ?? null, filter.service ?? null, filter.statuses],
  );
  return rows.map(toApiKey);
}

async function candidateKeys(tx: SqlClient, upTo: bigint, filter: KeyTableFilter): Promise<string[]> {
  const { rows } = await tx.query<{ id: string }>(
    `SELECT id::text AS id FROM api_keys
      WHERE ($1::text IS NULL OR owner_id = $1) AND ($2::text IS NULL OR service = $2) AND created_position <= $3`,
    [filter.ownerId ?? null, filter.service ?? null, upTo.toString()],
  );
  return rows.map((row) => row.id);
}

async function foldDecisions(tx: SqlClient, keyIds: string[], upTo: Bound): Promise<ApiKey[]> {
  if (keyIds.length === 0) return [];
  const { rows } = await tx.query<EventRow>(
    `SELECT ${SEALED_RECORD_COLUMNS} FROM event_records r JOIN event_seals s ON s.seq = r.seq
      WHERE r.stream_id = ANY($1::text[]) AND r.stream_version IS NOT NULL AND ${upTo.sql(2)}
      ORDER BY s.position`,
    [keyIds, ...upTo.params],
  );
  const keys = new Map<string, ApiKey>();
  for (const row of rows) {
    const event = parseKnown(toRecordedEvent(row));
    if (!event || !isType(event, KEY_DECISIONS)) continue;
    foldKeys(keys, event);
  }
  return [...keys.values()];
}

/** usage_count and last_used_at as of `upTo`, from the KeyUsed index (a KeyUsed event occurs at its usedAt). */
async function countUses(tx: SqlClient, keys: ApiKey[], upTo: Bound): Promise<void> {
  if (keys.length === 0) return;
  const { rows } = await tx.query<{ key_id: string; uses: string; last: Date | string }>(
    `SELECT r.stream_id AS key_id, count(*)::text AS uses, max(r.occurred_at) AS last FROM event_records r
      WHERE r.type = 'KeyUsed' AND r.stream_id = ANY($1::text[]) AND ${upTo.sql(2)}
      GROUP BY r.stream_id`,
    [keys.map((key) => key.id), ...upTo.params],
  );
  const uses = new Map(rows.map((row) => [row.key_id, row]));
  for (const key of keys) {
    const used = uses.get(key.id);
    if (!used) continue;
    key.usageCount = BigInt(used.uses);
    key.lastUsedAt = used.last instanceof Date ? used.last : new Date(used.last);
  }
}

/**
 * credits_remaining as of `upTo`, per account: a key spends its own balance, or after a rotation
 * its successor's (limitsKeyId). An account's balance is the one its last balance-moving event up
 * to then left: in its own stream (creation, credit changes, refills, its uses), or a use its
 * predecessor made in the grace period (a KeyUsed in the predecessor's stream with limitsOf). One
 * index probe per account and predecessor, read backwards from `upTo`.
 */
async function creditBalances(tx: SqlClient, keys: ApiKey[], upTo: Bound): Promise<void> {
  const metered = keys.filter((key) => key.creditsRemaining !== null);
  if (metered.length === 0) return;
  const accounts = [...new Set(metered.map((key) => key.limitsKeyId))];
  const predecessors = metered.filter((key) => key.limitsKeyId !== key.id);
  const { rows } = await tx.query<{ account: string; position: string; remaining: string | null }>(
    `SELECT k.account, e.position::text AS position, e.remaining FROM unnest($1::text[], $2::text[]) AS k(stream, account)
       CROSS JOIN LATERAL (
         SELECT (SELECT s.position FROM event_seals s WHERE s.seq = r.seq) AS position,
                COALESCE(r.data->>'remaining', r.data->'credits'->>'remaining') AS remaining FROM event_records r
          WHERE r.stream_id = k.stream AND ${upTo.sql(3)}
            AND CASE WHEN k.stream = k.account
                     THEN r.type IN ('KeyCreated', 'KeyCreditsSet', 'CreditsAdded', 'CreditsRefilled')
                          OR (r.type = 'KeyUsed' AND r.data->>'remaining' IS NOT NULL AND r.data->>'limitsOf' IS NULL)
                     ELSE r.type = 'KeyUsed' AND r.data->>'limitsOf' = k.account END
          ORDER BY ${upTo.latestFirst} LIMIT 1) AS e`,
    [
      [...accounts, ...predecessors.map((key) => key.id)],
      [...accounts, ...predecessors.map((key) => key.limitsKeyId)],
      ...upTo.params,
    ],
  );
  const latest = new Map<string, { position: bigint; remaining: bigint | null }>();
  for (const row of rows) {
    const position = BigInt(row.position);
    const known = latest.get(row.account);
    if (!known || position > known.position) latest.set(row.account, { position, remaining: row.remaining === null ? null : BigInt(row.remaining) });
  }
  for (const key of metered) {
    const balance = latest.get(key.limitsKeyId)?.remaining;
    if (balance != null) key.creditsRemaining = balance;
    PAST_ROWS.add(key);
  }
}

/** Rows of a past table: their credits are as of then, not to be looked up in the live table. */
const PAST_ROWS = new WeakSet<ApiKey>();
export const isPastRow = (key: ApiKey) => PAST_ROWS.has(key);

/**
 * The last position whose event occurred by `time`. Positions follow (transaction id, sequence)
 * order, so it is the seal of the last sealed record in that order among those that occurred by
 * then: one index-only pass over the occurred_at index, which carries both. After a restore into
 * another cluster that order no longer follows positions, and the positions are compared instead.
 */
async function positionAt(tx: SqlClient, time: Date): Promise<bigint> {
  const { rows } = await tx.query<{ rebased: boolean; position: string | null }>(
    `SELECT st.reset_guard <> '0'::xid8 AS rebased,
            (SELECT s.position::text FROM event_seals s WHERE s.seq = (
               SELECT r.seq FROM event_records r
                WHERE r.occurred_at <= to_timestamp($1::double precision / 1000) AND (r.txid, r.seq) <= (st.cursor_txid, st.cursor_seq)
                ORDER BY r.txid DESC, r.seq DESC LIMIT 1)) AS position
       FROM log_seal st`,
    [time.getTime()],
  );
  if (!rows[0]?.rebased) return BigInt(rows[0]?.position ?? 0);
  return positionAtComparingPositions(tx, time);
}

/** `positionAt` for a log whose record order no longer follows positions (restored into another cluster). */
async function positionAtComparingPositions(tx: SqlClient, time: Date): Promise<bigint> {
  const at = time.getTime();
  const { rows } = await tx.query<{ latest: string | null; head: string | null }>(
    `SELECT (SELECT position::text FROM events WHERE occurred_at <= to_timestamp($1::double precision / 1000)
              ORDER BY occurred_at DESC, position DESC LIMIT 1) AS latest,
            (SELECT max(position)::text FROM events) AS head`,
    [at],
  );
  if (rows[0]?.latest == null) return 0n;
  const latest = BigInt(rows[0].latest);
  const head = BigInt(rows[0].head!);
  const { rows: exact } =
    head - latest < latest
      ? await tx.query<{ position: string | null }>(
          `SELECT position::text AS position FROM events WHERE position > $2 AND occurred_at <= to_timestamp($1::double precision / 1000)
            ORDER BY events.position DESC LIMIT 1`,
          [at, latest.toString()],
        )
      : await tx.query<{ position: string | null }>(
          `SELECT max(position)::text AS position FROM events WHERE occurred_at <= to_timestamp($1::double precision / 1000)`,
          [at],
        );
  return exact[0]?.position == null ? latest : BigInt(exact[0].position);
}

const rfc3339 = z.iso.datetime({ offset: true });

/**
 * `asOf` as a client writes it: a log position (up to 19 digits; beyond the largest 64-bit
 * position means "now") or an RFC 3339 timestamp (`2026-03-07T12:00:00Z`, `…T12:00:00.5+01:00`).
 * Anything else is undefined.
 */
export function parseAsOf(value: string): AsOf | undefined {
  const position = parsePosition(value);
  if (position !== undefined) {
    return { position };
  }
  const upper = value.toUpperCase();
  if (!rfc3339.safeParse(upper).success) return undefined;
  const time = Date.parse(upper);
  return Number.isNaN(time) ? undefined : { time: new Date(time) };
}
