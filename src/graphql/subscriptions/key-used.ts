import { encodeGlobalID } from "@pothos/plugin-relay";
import { mayRead } from "../../auth/visibility.js";
import type { ApiKey } from "../../db/generated/prisma/client.js";
import type { Service } from "../../domain/services.js";
import { recordedAs, type ParsedEvent } from "../../projections/parsed-event.js";
import type { OVERFLOWED } from "../../subscriptions/bounded-stream.js";
import { follow } from "../../subscriptions/follow.js";
import { builder } from "../builder.js";
import { ServiceEnum } from "../enums/service.js";
import { keyIdOf } from "../lib/api-key-id.js";
import { unlessOverflowed } from "../lib/overflow.js";
import { requireKeyReader } from "../lib/viewer.js";

interface KeyUsedShape {
  event: ParsedEvent<"KeyUsed">;
  key: ApiKey;
}

const KeyUsedEvent = builder.objectRef<KeyUsedShape>("KeyUsedEvent").implement({
  fields: (t) => ({
    keyId: t.id({ resolve: ({ key }) => encodeGlobalID("ApiKey", key.id) }),
    service: t.field({ type: ServiceEnum, resolve: ({ key }) => key.service as Service }),
    name: t.string({ resolve: ({ key }) => key.name }),
    maskedKey: t.string({ resolve: ({ key }) => key.maskedKey }),
    usedAt: t.field({ type: "DateTime", resolve: ({ event }) => new Date(event.data.usedAt) }),
    position: t.string({ description: "The event's log position (64-bit)", resolve: ({ event }) => event.position.toString() }),
  }),
});

builder.subscriptionField("keyUsed", (t) =>
  t.field({
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
          for (const recorded of events) {
            if (recorded.type !== "KeyUsed" || (onlyKey && recorded.streamId !== onlyKey)) continue;
            const key = keys.get(recorded.streamId);
            const event = recordedAs(recorded, "KeyUsed");
            if (!event) continue;
            if (key && mayRead(viewer, key) && (!args.service || key.service === args.service)) out.push({ event, key });
          }
          return out;
        },
        ctx.subscriptionBuffer,
      );
    },
    resolve: (payload: KeyUsedShape | typeof OVERFLOWED) => unlessOverflowed(payload),
  }),
);
