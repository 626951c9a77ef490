import { readScope } from "../../auth/visibility.js";
import type { ApiKey } from "../../db/generated/prisma/client.js";
import { listedStatuses } from "../../domain/key-listing.js";
import type { KeyStatus, Service } from "../../domain/services.js";
import { keysAsOf, parseAsOf } from "../../projections/time-travel.js";
import type { Context } from "../context.js";
import { badInput } from "../errors.js";
import { requireKeyReader } from "../lib/viewer.js";

type PastTableArgs = { service?: Service | null; status?: KeyStatus | null; asOf: string };

/** Time travel: the table folded from the log up to `asOf`, once per request however many fields ask. */
const pastTables = new WeakMap<Context, Map<string, Promise<ApiKey[]>>>();

export function pastKeyTable(ctx: Context, args: PastTableArgs): Promise<ApiKey[]> {
  const asOf = parseAsOf(args.asOf);
  if (!asOf) throw badInput("asOf", "asOf must be a log position (digits) or an ISO-8601 timestamp");
  const viewer = requireKeyReader(ctx);
  const cacheKey = JSON.stringify([args.asOf, args.service, args.status]);
  const cache = pastTables.get(ctx) ?? new Map<string, Promise<ApiKey[]>>();
  pastTables.set(ctx, cache);
  let table = cache.get(cacheKey);
  if (!table) {
    table = keysAsOf(ctx.db, asOf, { ...readScope(viewer), service: args.service ?? undefined, statuses: listedStatuses(args.status) });
    cache.set(cacheKey, table);
  }
  return table;
}

/** Applies the take/skip/cursor Pothos computed for a connection to rows already in memory. */
export function pageInMemory(rows: ApiKey[], query: { take?: number; skip?: number; cursor?: { id?: string } }): ApiKey[] {
  let start = 0;
  if (query.cursor?.id !== undefined) {
    const index = rows.findIndex((row) => row.id === query.cursor!.id);
    start = index < 0 ? rows.length : index + (query.skip ?? 0);
  }
  return rows.slice(start, query.take === undefined ? undefined : start + query.take);
}
