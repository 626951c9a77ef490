import { readScope } from "../../auth/visibility.js";
import type { RecordedEvent } from "../../eventstore/types.js";
import { readLogFiltered } from "../../eventstore/filtered-read.js";
import type { OVERFLOWED } from "../../subscriptions/bounded-stream.js";
import { historyThenLive } from "../../subscriptions/history-then-live.js";
import { builder } from "../builder.js";
import { EventTypeEnum } from "../enums/event-type.js";
import { unlessOverflowed } from "../lib/overflow.js";
import { positionArg } from "../lib/position-arg.js";
import { requireKeyReader } from "../lib/viewer.js";
import { EventRef } from "../nodes/event.js";

builder.subscriptionField("events", (t) =>
  t.field({
    type: EventRef,
    description: "The log from `afterPosition` (history, then live; without it, live from now), in position order, with no gap or duplicate.",
    args: { afterPosition: t.arg.string(), types: t.arg({ type: [EventTypeEnum] }) },
    subscribe: (_root, args, ctx) => {
      const scope = readScope(requireKeyReader(ctx));
      const types = args.types ?? undefined;
      const typeSet = types && new Set<string>(types);
      return historyThenLive({
        follower: ctx.follower,
        after: positionArg("afterPosition", args.afterPosition),
        readHistory: (after, limit) => readLogFiltered(ctx.db, after, limit, { ...scope, types }),
        matches: (event, keys) => (!typeSet || typeSet.has(event.type)) && (!scope.ownerId || keys.get(event.streamId)?.ownerId === scope.ownerId),
        capacity: ctx.subscriptionBuffer,
      });
    },
    resolve: (event: RecordedEvent | typeof OVERFLOWED) =>
      unlessOverflowed(event, "resubscribe with afterPosition set to the last position you received."),
  }),
);
