import { builder } from "../builder.js";
import { GRANULARITIES, UsageGranularityEnum } from "../enums/usage-granularity.js";
import { badInput } from "../errors.js";
import { keyIdOf } from "../lib/api-key-id.js";
import { requireKeyReader } from "../lib/viewer.js";
import { loadVisibleKey } from "./api-key.js";

const MAX_BUCKETS = 10_000;
const BUCKET_MS: Record<(typeof GRANULARITIES)[number], number> = { MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 };

const UsageBucket = builder.objectRef<{ start: Date; count: number }>("UsageBucket").implement({
  fields: (t) => ({
    start: t.expose("start", { type: "DateTime" }),
    count: t.expose("count", { type: "SafeInt" }),
  }),
});

builder.queryField("keyUsage", (t) =>
  t.field({
    type: [UsageBucket],
    description: "Uses of one key per bucket (UTC), every bucket from the one holding `from` up to `to` (exclusive), zeros included.",
    args: {
      keyId: t.arg.id({ required: true }),
      from: t.arg({ type: "DateTime", required: true }),
      to: t.arg({ type: "DateTime", required: true }),
      granularity: t.arg({ type: UsageGranularityEnum, required: true }),
    },
    resolve: async (_root, args, ctx) => {
      requireKeyReader(ctx);
      if (args.to <= args.from) throw badInput("to", "to must be after from");
      if ((args.to.getTime() - args.from.getTime()) / BUCKET_MS[args.granularity] > MAX_BUCKETS) {
        throw badInput("granularity", `at most ${MAX_BUCKETS} buckets per request: narrow the range or coarsen the granularity`);
      }
      const key = await loadVisibleKey(ctx, keyIdOf(String(args.keyId)));
      const unit = args.granularity.toLowerCase();
      const { rows } = await ctx.db.query<{ start: Date; count: string }>(
        `SELECT s.start, COALESCE(SUM(u.count), 0)::text AS count
           FROM generate_series(date_trunc($2, $3::timestamptz, 'UTC'), $4::timestamptz - interval '1 millisecond', ('1 ' || $2)::interval) AS s(start)
           LEFT JOIN key_usage u
             ON u.key_id = $1 AND u.bucket_start >= s.start AND u.bucket_start < s.start + ('1 ' || $2)::interval
          GROUP BY s.start
          ORDER BY s.start`,
        [key.id, unit, args.from.toISOString(), args.to.toISOString()],
      );
      return rows.map((row) => ({ start: new Date(row.start), count: Number(row.count) }));
    },
  }),
);
