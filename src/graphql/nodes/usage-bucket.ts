import { usageBuckets, usageRangeProblem, type UsageBucket as UsageBucketShape } from "../../projections/key-usage/buckets.js";
import { builder } from "../builder.js";
import { UsageGranularityEnum } from "../enums/usage-granularity.js";
import { badInput } from "../errors.js";
import { keyIdOf } from "../lib/api-key-id.js";
import { requireKeyReader } from "../lib/viewer.js";
import { loadVisibleKey } from "./api-key.js";

const UsageBucket = builder.objectRef<UsageBucketShape>("UsageBucket").implement({
  fields: (t) => ({
    start: t.expose("start", { type: "DateTime" }),
    count: t.expose("count", { type: "SafeInt", description: "VALID verifications (the same as valid)" }),
    valid: t.expose("valid", { type: "SafeInt" }),
    rateLimited: t.expose("rateLimited", { type: "SafeInt" }),
    usageExceeded: t.expose("usageExceeded", { type: "SafeInt" }),
    denied: t.expose("denied", { type: "SafeInt", description: "Refusals for any other reason: disabled, revoked, expired, wrong service, permissions" }),
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
      const problem = usageRangeProblem(args.from, args.to, args.granularity);
      if (problem) throw badInput(problem.field, problem.message);
      const key = await loadVisibleKey(ctx, keyIdOf(String(args.keyId)));
      return usageBuckets(ctx.db, key.id, args.from, args.to, args.granularity);
    },
  }),
);
