import { mayRead } from "../../auth/visibility.js";
import type { ApiKey } from "../../db/generated/prisma/client.js";
import { keyChangeOf, type KeyChange } from "../../domain/key-changes.js";
import type { OVERFLOWED } from "../../subscriptions/bounded-stream.js";
import { follow } from "../../subscriptions/follow.js";
import { builder } from "../builder.js";
import { KeyChangeEnum } from "../enums/key-change.js";
import { ServiceEnum } from "../enums/service.js";
import { unlessOverflowed } from "../lib/overflow.js";
import { requireKeyReader } from "../lib/viewer.js";
import { ApiKeyRef } from "../nodes/api-key.js";

interface KeyChangedShape {
  change: KeyChange;
  key: ApiKey;
  position: bigint;
}

const KeyChangedEvent = builder.objectRef<KeyChangedShape>("KeyChangedEvent").implement({
  fields: (t) => ({
    change: t.field({ type: KeyChangeEnum, resolve: (p) => p.change }),
    apiKey: t.field({ type: ApiKeyRef, resolve: (p) => p.key }),
    position: t.string({ resolve: (p) => p.position.toString() }),
  }),
});

builder.subscriptionField("keyChanged", (t) =>
  t.field({
    type: KeyChangedEvent,
    description: "Creations, toggles, edits and revocations of the caller's keys, so a key table stays live.",
    args: { service: t.arg({ type: ServiceEnum }) },
    subscribe: (_root, args, ctx) => {
      const viewer = requireKeyReader(ctx);
      return follow<KeyChangedShape>(
        ctx.follower,
        ({ events, keys }) =>
          events.flatMap((event) => {
            const change = keyChangeOf(event.type);
            const key = keys.get(event.streamId);
            if (!change || !key || !mayRead(viewer, key) || (args.service && key.service !== args.service)) return [];
            return [{ change, key, position: event.position }];
          }),
        ctx.subscriptionBuffer,
      );
    },
    resolve: (payload: KeyChangedShape | typeof OVERFLOWED) => unlessOverflowed(payload),
  }),
);
