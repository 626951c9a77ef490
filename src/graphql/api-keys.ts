import { decodeGlobalID } from "@pothos/plugin-relay";
import { readsAllKeys, type Viewer } from "../auth/viewer.js";
import type { ApiKey, Prisma } from "../db/generated/prisma/client.js";
import { keysAsOf, parseAsOf } from "../projections/time-travel.js";
import { KEY_STATUSES, SERVICES, type KeyStatus, type Service } from "../domain/services.js";
import { callerOf, requireKeyReader } from "./auth.js";
import { builder } from "./builder.js";
import type { Context } from "./context.js";
import { badInput, notFound } from "./errors.js";

export const ServiceEnum = builder.enumType("Service", {
  description: "The platform's services; each key belongs to one.",
  values: SERVICES,
});

export const KeyStatusEnum = builder.enumType("KeyStatus", {
  description: "ACTIVE keys verify; INACTIVE ones are switched off and can be switched on again; REVOKED is final.",
  values: KEY_STATUSES,
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The key id inside an ApiKey global ID; anything else is NOT_FOUND, like a key that does not exist. */
export function keyIdOf(globalId: string): string {
  try {
    const { typename, id } = decodeGlobalID(globalId);
    if (typename === "ApiKey" && UUID.test(id)) return id.toLowerCase();
  } catch {
    // fall through: an undecodable id names no key
  }
  throw notFound();
}

function visibleTo(viewer: Viewer): Prisma.ApiKeyWhereInput {
  return readsAllKeys(viewer) ? {} : { ownerId: viewer.userId };
}

export const ApiKeyRef = builder.prismaNode("ApiKey", {
  id: { field: "id" },
  nullable: true,
  findUnique: (id, ctx) => {
    const viewer = requireKeyReader(ctx);
    if (!UUID.test(id)) throw notFound();
    const keyId = id.toLowerCase();
    const where: Prisma.ApiKeyWhereUniqueInput = readsAllKeys(viewer) ? { id: keyId } : { id: keyId, ownerId: viewer.userId };
    return where;
  },
  fields: (t) => ({
    service: t.field({ type: ServiceEnum, resolve: (key) => key.service as Service }),
    name: t.exposeString("name"),
    description: t.exposeString("description", { nullable: true }),
    maskedKey: t.exposeString("maskedKey", { description: "Prefix, first four and last four characters; the secret is never shown again" }),
    status: t.field({ type: KeyStatusEnum, resolve: (key) => key.status as KeyStatus }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    lastUsedAt: t.expose("lastUsedAt", { type: "DateTime", nullable: true, description: "Null until the key is first used" }),
    revokedAt: t.expose("revokedAt", { type: "DateTime", nullable: true }),
    revokeReason: t.exposeString("revokeReason", { nullable: true }),
    usageCount: t.field({ type: "SafeInt", description: "Accepted verifications so far", resolve: (key) => Number(key.usageCount) }),
    version: t.exposeInt("version", { description: "The key's stream version: pass it as expectedVersion to change it safely" }),
  }),
});

const LIVE_STATUSES: KeyStatus[] = ["ACTIVE", "INACTIVE"];

function listFilter(viewer: Viewer, service: Service | null | undefined, status: KeyStatus | null | undefined): Prisma.ApiKeyWhereInput {
  return {
    ...visibleTo(viewer),
    ...(service ? { service } : {}),
    status: status ? status : { in: LIVE_STATUSES },
  };
}

type ListArgs = { service?: Service | null; status?: KeyStatus | null; asOf?: string | null };

/** Time travel: the table folded from the log up to `asOf`, once per request however many fields ask. */
const pastTables = new WeakMap<Context, Map<string, Promise<ApiKey[]>>>();

function pastTable(ctx: Context, args: ListArgs & { asOf: string }): Promise<ApiKey[]> {
  const asOf = parseAsOf(args.asOf);
  if (!asOf) throw badInput("asOf", "asOf must be a log position (digits) or an ISO-8601 timestamp");
  const viewer = requireKeyReader(ctx);
  const cacheKey = JSON.stringify([args.asOf, args.service, args.status]);
  const cache = pastTables.get(ctx) ?? new Map<string, Promise<ApiKey[]>>();
  pastTables.set(ctx, cache);
  let table = cache.get(cacheKey);
  if (!table) {
    table = keysAsOf(ctx.db, asOf, {
      ownerId: readsAllKeys(viewer) ? undefined : viewer.userId,
      service: args.service ?? undefined,
      statuses: args.status ? [args.status] : LIVE_STATUSES,
    });
    cache.set(cacheKey, table);
  }
  return table;
}

/** Applies the take/skip/cursor Pothos computed for a connection to rows already in memory. */
function page(rows: ApiKey[], query: { take?: number; skip?: number; cursor?: { id?: string } }): ApiKey[] {
  let start = 0;
  if (query.cursor?.id !== undefined) {
    const index = rows.findIndex((row) => row.id === query.cursor!.id);
    start = index < 0 ? rows.length : index + (query.skip ?? 0);
  }
  return rows.slice(start, query.take === undefined ? undefined : start + query.take);
}

builder.queryFields((t) => ({
  apiKeys: t.prismaConnection(
    {
      type: "ApiKey",
      cursor: "id",
      defaultSize: 20,
      maxSize: 100,
      description:
        "The caller's keys, newest first (every owner's for admins and auditors). Without status: the live table (ACTIVE and INACTIVE); status REVOKED lists revoked keys.",
      args: {
        service: t.arg({ type: ServiceEnum }),
        status: t.arg({ type: KeyStatusEnum }),
        asOf: t.arg.string({
          description: "Time travel: the table as it was at this log position, or at this ISO-8601 time, folded from the log",
        }),
      },
      resolve: async (query, _root, args, ctx) => {
        if (args.asOf) return page(await pastTable(ctx, { ...args, asOf: args.asOf }), query);
        return ctx.db.prisma.apiKey.findMany({
          ...query,
          where: listFilter(requireKeyReader(ctx), args.service, args.status),
          orderBy: { createdPosition: "desc" },
        });
      },
      totalCount: async (_connection, args, ctx) => {
        if (args.asOf) return (await pastTable(ctx, { ...args, asOf: args.asOf })).length;
        return ctx.db.prisma.apiKey.count({ where: listFilter(requireKeyReader(ctx), args.service, args.status) });
      },
    },
    {},
  ),
  apiKey: t.prismaField({
    type: "ApiKey",
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => loadKey(ctx, keyIdOf(String(args.id)), query),
  }),
}));

export async function loadKey(ctx: Context, keyId: string, query: { select?: Prisma.ApiKeySelect } = {}) {
  const viewer = requireKeyReader(ctx);
  const key = await ctx.db.prisma.apiKey.findFirst({ ...query, where: { id: keyId, ...visibleTo(viewer) } });
  if (!key) throw notFound();
  return key;
}

// ---- mutations -------------------------------------------------------------------------------

const CreateApiKeyInput = builder.inputType("CreateApiKeyInput", {
  fields: (t) => ({
    service: t.field({ type: ServiceEnum, required: true }),
    name: t.string({ required: true, description: "1 to 64 characters after trimming" }),
    description: t.string({ description: "At most 256 characters" }),
  }),
});

const CreateApiKeyPayload = builder.objectRef<{ keyId: string; secret: string }>("CreateApiKeyPayload").implement({
  fields: (t) => ({
    apiKey: t.prismaField({ type: "ApiKey", resolve: (query, payload, _args, ctx) => loadKey(ctx, payload.keyId, query) }),
    secret: t.exposeString("secret", { description: "The full key. Shown here once and never again: store it now." }),
  }),
});

const SetKeyStatusInput = builder.inputType("SetKeyStatusInput", {
  fields: (t) => ({
    id: t.id({ required: true }),
    status: t.field({ type: KeyStatusEnum, required: true, description: "ACTIVE or INACTIVE; use revokeApiKey to revoke" }),
    expectedVersion: t.int({ description: "Fail with CONFLICT unless the key is still at this version" }),
  }),
});

const UpdateApiKeyInput = builder.inputType("UpdateApiKeyInput", {
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string({ description: "Left unchanged when omitted" }),
    description: t.string({ description: "Left unchanged when omitted; null or empty clears it" }),
    expectedVersion: t.int({ description: "Fail with CONFLICT unless the key is still at this version" }),
  }),
});

const RevokeApiKeyInput = builder.inputType("RevokeApiKeyInput", {
  fields: (t) => ({
    id: t.id({ required: true }),
    reason: t.string({ description: "At most 256 characters" }),
  }),
});

function keyPayload(name: string) {
  return builder.objectRef<{ keyId: string }>(name).implement({
    fields: (t) => ({
      apiKey: t.prismaField({ type: "ApiKey", resolve: (query, payload, _args, ctx) => loadKey(ctx, payload.keyId, query) }),
    }),
  });
}

const SetKeyStatusPayload = keyPayload("SetKeyStatusPayload");
const UpdateApiKeyPayload = keyPayload("UpdateApiKeyPayload");
const RevokeApiKeyPayload = keyPayload("RevokeApiKeyPayload");

function checkVersion(expectedVersion: number | null | undefined): number | undefined {
  if (expectedVersion == null) return undefined;
  if (expectedVersion < 0) throw badInput("expectedVersion", "expectedVersion must not be negative");
  return expectedVersion;
}

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreateApiKeyPayload,
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const { keyId, secret } = await ctx.commands.create(callerOf(ctx), input);
      return { keyId, secret };
    },
  }),
  setKeyStatus: t.field({
    type: SetKeyStatusPayload,
    args: { input: t.arg({ type: SetKeyStatusInput, required: true }) },
    resolve: async (_root, { input }, ctx) =>
      ctx.commands.setStatus(callerOf(ctx), keyIdOf(String(input.id)), input.status, checkVersion(input.expectedVersion)),
  }),
  updateApiKey: t.field({
    type: UpdateApiKeyPayload,
    args: { input: t.arg({ type: UpdateApiKeyInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      if (input.name === null) throw badInput("name", "name cannot be null; omit it to leave it unchanged");
      const changes = {
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
      };
      return ctx.commands.update(callerOf(ctx), keyIdOf(String(input.id)), changes, checkVersion(input.expectedVersion));
    },
  }),
  revokeApiKey: t.field({
    type: RevokeApiKeyPayload,
    args: { input: t.arg({ type: RevokeApiKeyInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ctx.commands.revoke(callerOf(ctx), keyIdOf(String(input.id)), input.reason),
  }),
}));
