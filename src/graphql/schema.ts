import { lexicographicSortSchema, printSchema, type GraphQLSchema } from "graphql";
import { builder } from "./builder.js";
import "./health.js";
import "./api-keys.js";
import "./usage.js";
import "./verification.js";
import "./subscriptions.js";
import "./events.js";
import "./audit.js";

export const schema: GraphQLSchema = builder.toSchema();

/** The SDL committed as schema.graphql: sorted, so diffs show real changes only. */
export function printSortedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
