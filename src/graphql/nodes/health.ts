import { builder } from "../builder.js";

interface HealthShape {
  database: "pglite" | "postgres";
  headPosition: bigint;
}

const Health = builder.objectRef<HealthShape>("Health").implement({
  fields: (t) => ({
    ok: t.boolean({ resolve: () => true }),
    database: t.exposeString("database", { description: "pglite or postgres" }),
    headPosition: t.string({
      description: "Position of the last event in the log (64-bit, as a string)",
      resolve: (health) => health.headPosition.toString(),
    }),
  }),
});

builder.queryField("health", (t) =>
  t.field({
    type: Health,
    resolve: async (_root, _args, ctx) => ({ database: ctx.db.kind, headPosition: (await ctx.store.head()).position }),
  }),
);
