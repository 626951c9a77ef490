import { decodeGlobalID } from "@pothos/plugin-relay";
import { readsAllKeys, type Viewer } from "../auth/viewer.js";
import { EVENT_TYPES, parseEvent } from "../domain/events.js";
import type { RecordedEvent } from "../eventstore/types.js";
import { readLogFiltered, type LogFilter } from "../projections/event-log.js";
import { OVERFLOWED } from "../subscriptions/bounded-stream.js";
import { follow } from "../subscriptions/follow.js";
import { requireKeyReader } from "./auth.js";
import { builder } from "./builder.js";
import type { Context } from "./context.js";
import { badInput, graphQLError } from "./errors.js";

const EventTypeEnum = builder.enumType("EventType", { values: EVENT_TYPES });

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
    type: t.field({ type: EventTypeEnum, resolve: (e) => e.type as (typeof EVENT_TYPES)[number] }),
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

/** A raw UUID or an ApiKey global ID. */
function streamIdOf(value: string): string {
  try {
    const { typename, id } = decodeGlobalID(value);
    if (typename === "ApiKey") return id;
  } catch {
    // not a global ID: a raw stream id
  }
  return value;
}

function positionOf(field: string, value: string | null | undefined): bigint | undefined {
  if (value == null) return undefined;
  if (!/^\d{1,19}$/.test(value)) throw badInput(field, `${field} must be a log position (digits)`);
  return BigInt(value);
}

/** Auditors and admins read every event; an owner reads only the events of their own keys. */
function scopeOf(viewer: Viewer): { ownerId?: string } {
  return readsAllKeys(viewer) ? {} : { ownerId: viewer.userId };
}

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
      if (first < 0 || first > 1000) throw badInput("first", "first must be between 0 and 1000");
      const after = positionOf("after", args.after) ?? 0n;
      const filter: LogFilter = {
        ...scopeOf(viewer),
        streamId: args.streamId ? streamIdOf(String(args.streamId)) : undefined,
        types: args.types ?? undefined,
        since: args.since ?? undefined,
        until: args.until ?? undefined,
      };
      const rows = await readLogFiltered(ctx.db, after, first + 1, filter);
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

const HISTORY_PAGE = 500;

/**
 * History from `after`, then live, with no gap or duplicate at the seam: the live feed is
 * attached first (it holds everything past the follower's position at that moment), history is
 * read up to at least that position, and live events at or below the last one sent are dropped.
 */
async function* eventsFrom(ctx: Context, viewer: Viewer, after: bigint | undefined, types: string[] | undefined) {
  const typeSet = types ? new Set(types) : undefined;
  const scope = scopeOf(viewer);
  const live = follow(
    ctx.follower,
    ({ events, keys }) =>
      events.filter((e) => (!typeSet || typeSet.has(e.type)) && (!scope.ownerId || keys.get(e.streamId)?.ownerId === scope.ownerId)),
    ctx.subscriptionBuffer,
  );
  try {
    const seam = ctx.follower.dispatchedPosition;
    let last = after ?? seam;
    if (last < seam) {
      for (;;) {
        const page = await readLogFiltered(ctx.db, last, HISTORY_PAGE, { ...scope, types });
        for (const event of page) {
          last = event.position;
          yield event;
        }
        if (page.length < HISTORY_PAGE) break;
      }
      // The history read everything committed up to the seam; what matched is sent.
      if (last < seam) last = seam;
    }
    for await (const event of live) {
      if (event === OVERFLOWED) {
        yield OVERFLOWED;
        return;
      }
      if (event.position <= last) continue;
      last = event.position;
      yield event;
    }
  } finally {
    await live.return?.();
  }
}

builder.subscriptionField("events", (t) =>
  t.field({
    type: EventRef,
    description: "The log from `afterPosition` (history, then live; without it, live from now), in position order, with no gap or duplicate.",
    args: { afterPosition: t.arg.string(), types: t.arg({ type: [EventTypeEnum] }) },
    subscribe: (_root, args, ctx) => {
      const viewer = requireKeyReader(ctx);
      return eventsFrom(ctx, viewer, positionOf("afterPosition", args.afterPosition), args.types ?? undefined);
    },
    resolve: (event: RecordedEvent | typeof OVERFLOWED) => {
      if (event === OVERFLOWED) {
        throw graphQLError("SUBSCRIPTION_OVERFLOW", "This subscription fell too far behind and was closed; resubscribe with afterPosition set to the last position you received.");
      }
      return event;
    },
  }),
);
