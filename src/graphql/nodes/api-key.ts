import { readScope } from "../../auth/visibility.js";
import type { ApiKey, Prisma } from "../../db/generated/prisma/client.js";
import { listedStatuses } from "../../domain/key-listing.js";
import type { KeyStatus, Service } from "../../domain/services.js";
import { builder } from "../builder.js";
import type { Context } from "../context.js";
import { KeyStatusEnum } from "../enums/key-status.js";
import { ServiceEnum } from "../enums/service.js";
import { notFound } from "../errors.js";
import { keyIdFromRaw, keyIdOf } from "../lib/api-key-id.js";
import { requireKeyReader } from "../lib/viewer.js";
import { isPastRow } from "../../projections/time-travel.js";
import { pageInMemory, pastKeyTable } from "./api-key-time-travel.js";
import { CreditsRef, RatelimitRef, type CreditsShape } from "./key-policies.js";
import type { Refill } from "../../domain/policies/credits.js";
import type { Ratelimit } from "../../domain/policies/ratelimit.js";

export const ApiKeyRef = builder.prismaNode("ApiKey", {
  id: { field: "id" },
  nullable: true,
  findUnique: (id, ctx) => {
    const viewer = requireKeyReader(ctx);
    const keyId = keyIdFromRaw(id);
    if (!keyId) throw notFound();
    return { id: keyId, ...readScope(viewer) } as Prisma.ApiKeyWhereUniqueInput;
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
    expiresAt: t.expose("expiresAt", { type: "DateTime", nullable: true, description: "After this time the key answers EXPIRED" }),
    expired: t.boolean({ resolve: (key, _args, ctx) => key.expiresAt !== null && key.expiresAt.getTime() <= ctx.clock().getTime() }),
    permissions: t.exposeStringList("permissions"),
    meta: t.field({ type: "JSONObject", nullable: true, resolve: (key) => key.meta as Record<string, unknown> | null }),
    ratelimits: t.field({ type: [RatelimitRef], resolve: (key) => key.ratelimits as unknown as Ratelimit[] }),
    credits: t.field({
      type: CreditsRef,
      nullable: true,
      description: "Null when the key is not metered. A rotated key in its grace period shows (and spends) its successor's credits.",
      resolve: async (key, _args, ctx) => {
        // A past table's rows carry their account's balance as of then; a live row of a rotated key spends its successor's.
        const account = key.limitsKeyId === key.id || isPastRow(key) ? key : await ctx.db.prisma.apiKey.findUnique({ where: { id: key.limitsKeyId } });
        return account ? creditsOf(account) : null;
      },
    }),
  }),
});

function creditsOf(key: ApiKey): CreditsShape | null {
  if (key.creditsRemaining === null) return null;
  return { remaining: Number(key.creditsRemaining), refill: key.creditsRefill as Refill | null, lastRefillAt: key.lastRefillAt };
}

builder.prismaObjectFields(ApiKeyRef, (t) => ({
  rotatedFrom: t.prismaField({
    type: "ApiKey",
    nullable: true,
    description: "The key this one replaced",
    resolve: (query, key, _args, ctx) => (key.rotatedFrom ? findVisibleKey(ctx, key.rotatedFrom, query) : null),
  }),
  rotatedTo: t.prismaField({
    type: "ApiKey",
    nullable: true,
    description: "The key that replaced this one; this key answers until its expiresAt (the grace period's end)",
    resolve: (query, key, _args, ctx) => (key.rotatedTo ? findVisibleKey(ctx, key.rotatedTo, query) : null),
  }),
}));

function findVisibleKey(ctx: Context, keyId: string, query: { select?: Prisma.ApiKeySelect }) {
  return ctx.db.prisma.apiKey.findFirst({ ...query, where: { id: keyId, ...readScope(requireKeyReader(ctx)) } });
}

/** A key the caller may read, or NOT_FOUND (also for another owner's key: existence never leaks). */
export async function loadVisibleKey(ctx: Context, keyId: string, query: { select?: Prisma.ApiKeySelect } = {}) {
  const viewer = requireKeyReader(ctx);
  const key = await ctx.db.prisma.apiKey.findFirst({ ...query, where: { id: keyId, ...readScope(viewer) } });
  if (!key) throw notFound();
  return key;
}

function liveTableFilter(ctx: Context, args: { service?: Service | null; status?: KeyStatus | null }): Prisma.ApiKeyWhereInput {
  return {
    ...readScope(requireKeyReader(ctx)),
    ...(args.service ? { service: args.service } : {}),
    status: { in: listedStatuses(args.status) },
  };
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
        if (args.asOf != null) return pageInMemory(await pastKeyTable(ctx, { ...args, asOf: args.asOf }), query);
        return ctx.db.prisma.apiKey.findMany({ ...query, where: liveTableFilter(ctx, args), orderBy: { createdPosition: "desc" } });
      },
      totalCount: async (_connection, args, ctx) => {
        if (args.asOf != null) return (await pastKeyTable(ctx, { ...args, asOf: args.asOf })).length;
        return ctx.db.prisma.apiKey.count({ where: liveTableFilter(ctx, args) });
      },
    },
    {},
  ),
  apiKey: t.prismaField({
    type: "ApiKey",
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => loadVisibleKey(ctx, keyIdOf(String(args.id)), query),
  }),
}));
