import { readScope } from "../../auth/visibility.js";
import { parseEvent, type EventType } from "../../domain/events.js";
import type { RecordedEvent } from "../../eventstore/types.js";
import { readLogFiltered } from "../../eventstore/filtered-read.js";
import { builder } from "../builder.js";
import { EventTypeEnum } from "../enums/event-type.js";
import { badInput } from "../errors.js";
import { positionArg } from "../lib/position-arg.js";
import { streamIdOf } from "../lib/stream-id.js";
import { requireKeyReader } from "../lib/viewer.js";

const MAX_PAGE = 1000;

const Actor = builder.objectRef<{ id: string | null; role: string | null }>("Actor").implement({
  fields: (t) => ({
    id: t.string({ nullable: true, resolve: (a) => a.id }),
    role: t.string({ nullable: true, resolve: (a) => a.role }),
  }),
});

export const EventRef = builder.objectRef<RecordedEvent>("Event").implement({
  description: "One entry of the append-only log.",
  fields: (t) => ({
    position: t.string({ description: "Strictly increasing in log order (64-bit, as a string)", resolve: (e) => e.position.toString() }),
    eventId: t.id({ resolve: (e) => e.eventId }),
    streamId: t.id({ description: "The key's id (a UUID)", resolve: (e) => e.streamId }),
    streamVersion: t.int({ nullable: true, description: "Null for facts (KeyUsed), which take no stream version", resolve: (e) => e.streamVersion }),
    type: t.field({ type: EventTypeEnum, resolve: (e) => e.type as EventType }),
    schemaVersion: t.int({ description: "The payload's schema version as stored", resolve: (e) => e.schemaVersion }),
    occurredAt: t.field({ type: "DateTime", resolve: (e) => e.occurredAt }),
    actor: t.field({
      type: Actor,
      resolve: (e) => ({ id: (e.metadata.actorId as string | undefined) ?? null, role: (e.metadata.actorRole as string | undefined) ?? null }),
    }),
    requestId: t.string({ nullable: true, resolve: (e) => (e.metadata.requestId as string | undefined) ?? null }),
    data: t.field({ type: "JSONObject", description: "The payload, upcast to the current schema version", resolve: (e) => parseEvent(e.type, e.schemaVersion, e.data).data }),
    hash: t.string({ description: "SHA-256 chain hash over the previous event's hash and this event's canonical content", resolve: (e) => e.hash }),
  }),
});

builder.queryField("events", (t) =>
  t.connection({
    type: EventRef,
    description: "The log in position order. `after` is a position: resume exactly after it.",
    args: {
      streamId: t.arg.id(),
      types: t.arg({ type: [EventTypeEnum] }),
      since: t.arg({ type: "DateTime" }),
      until: t.arg({ type: "DateTime" }),
    },
    resolve: async (_root, args, ctx) => {
      const viewer = requireKeyReader(ctx);
      if (args.before || args.last != null) throw badInput("last", "events pages forward only: use first and after");
      const first = args.first ?? 100;
      if (first < 0 || first > MAX_PAGE) throw badInput("first", `first must be between 0 and ${MAX_PAGE}`);
      const after = positionArg("after", args.after) ?? 0n;
      const rows = await readLogFiltered(ctx.db, after, first + 1, {
        ...readScope(viewer),
        streamId: args.streamId ? streamIdOf(String(args.streamId)) : undefined,
        types: args.types ?? undefined,
        since: args.since ?? undefined,
        until: args.until ?? undefined,
      });
      const edges = rows.slice(0, first).map((event) => ({ cursor: event.position.toString(), node: event }));
      return {
        edges,
        pageInfo: {
          hasNextPage: rows.length > first,
          hasPreviousPage: after > 0n,
          startCursor: edges[0]?.cursor ?? null,
          endCursor: edges.at(-1)?.cursor ?? args.after ?? null,
        },
      };
    },
  }),
);
