import { builder } from "../builder.js";

export const GRANULARITIES = ["MINUTE", "HOUR", "DAY"] as const;
export type Granularity = (typeof GRANULARITIES)[number];

export const UsageGranularityEnum = builder.enumType("UsageGranularity", { values: GRANULARITIES });
