import { encodeGlobalID } from "@pothos/plugin-relay";
import { readsAllKeys, type Viewer } from "../auth/viewer.js";
import type { ApiKey } from "../db/generated/prisma/client.js";
import type { EventData } from "../domain/events.js";
import type { Service } from "../domain/services.js";
import type { RecordedEvent } from "../eventstore/types.js";
import { OVERFLOWED } from "../subscriptions/bounded-stream.js";
import { follow } from "../subscriptions/follow.js";
import { ApiKeyRef, keyIdOf, ServiceEnum } from "./api-keys.js";
import { requireKeyReader } from "./auth.js";
import { builder } from "./builder.js";
import type { Context } from "./context.js";
import { graphQLError } from "./errors.js";

builder.subscriptionType({});

const KEY_CHANGES = { KeyCreated: "CREATED", KeyToggled: "TOGGLED", KeyUpdated: "UPDATED", KeyRevoked: "REVOKED" } as const;
type KeyChange = (typeof KEY_CHANGES)[keyof typeof KEY_CHANGES];

const KeyChangeEnum = builder.enumType("KeyChange", { values: Object.values(KEY_CHANGES) });

interface KeyUsedShape {
  event: RecordedEvent;
  key: ApiKey;
}

const KeyUsedEvent = builder.objectRef<KeyUsedShape>("KeyUsedEvent").implement({
  fields: (t) => ({
    keyId: t.id({ resolve: ({ key }) => encodeGlobalID("ApiKey", key.id) }),
    service: t.field({ type: ServiceEnum, resolve: ({ key }) => key.service as Service }),
    name: t.string({ resolve: ({ key }) => key.name }),
    maskedKey: t.string({ resolve: ({ key }) => key.maskedKey }),
    usedAt: t.field({ type: "DateTime", resolve: ({ event }) => new Date((event.data as EventData<"KeyUsed">).usedAt) }),
    position: t.string({ description: "The event's log position (64-bit)", resolve: ({ event }) => event.position.toString() }),
  }),
});

const KeyChangedEvent = builder.objectRef<{ change: KeyChange; key: ApiKey; position: bigint }>("KeyChangedEvent").implement({
  fields: (t) => ({
    change: t.field({ type: KeyChangeEnum, resolve: (p) => p.change }),
    apiKey: t.field({ type: ApiKeyRef, resolve: (p) => p.key }),
    position: t.string({ resolve: (p) => p.position.toString() }),
  }),
});

function sees(viewer: Viewer, key: ApiKey | undefined): key is ApiKey {
  return key !== undefined && (readsAllKeys(viewer) || key.ownerId === viewer.userId);
}

function unlessOverflowed<T>(payload: T | typeof OVERFLOWED): T {
  if (payload === OVERFLOWED) {
    throw graphQLError("SUBSCRIPTION_OVERFLOW", "This subscription fell too far behind and was closed; subscribe again to continue.");
  }
  return payload;
}

function bufferSize(ctx: Context): number {
  return ctx.subscriptionBuffer;
}

builder.subscriptionFields((t) => ({
  keyUsed: t.field({
    type: KeyUsedEvent,
    description: "Each accepted verification of the caller's keys (every key for admins and auditors), live.",
    args: { service: t.arg({ type: ServiceEnum }), keyId: t.arg.id() },
    subscribe: (_root, args, ctx) => {
      const viewer = requireKeyReader(ctx);
      const onlyKey = args.keyId ? keyIdOf(String(args.keyId)) : undefined;
      return follow<KeyUsedShape>(
        ctx.follower,
        ({ events, keys }) => {
          const out: KeyUsedShape[] = [];
          for (const event of events) {
            if (event.type !== "KeyUsed" || (onlyKey && event.streamId !== onlyKey)) continue;
            const key = keys.get(event.streamId);
            if (sees(viewer, key) && (!args.service || key.service === args.service)) out.push({ event, key });
          }
          return out;
        },
        bufferSize(ctx),
      );
    },
    resolve: (payload: KeyUsedShape | typeof OVERFLOWED) => unlessOverflowed(payload),
  }),
  keyChanged: t.field({
    type: KeyChangedEvent,
    description: "Creations, toggles, edits and revocations of the caller's keys, so a key table stays live.",
    args: { service: t.arg({ type: ServiceEnum }) },
    subscribe: (_root, args, ctx) => {
      const viewer = requireKeyReader(ctx);
      return follow(
        ctx.follower,
        ({ events, keys }) =>
          events.flatMap((event) => {
            const change = KEY_CHANGES[event.type as keyof typeof KEY_CHANGES];
            const key = keys.get(event.streamId);
            if (!change || !sees(viewer, key) || (args.service && key.service !== args.service)) return [];
            return [{ change, key, position: event.position }];
          }),
        bufferSize(ctx),
      );
    },
    resolve: (payload: { change: KeyChange; key: ApiKey; position: bigint } | typeof OVERFLOWED) => unlessOverflowed(payload),
  }),
}));
