import { USAGE_GRANULARITIES } from "../../projections/key-usage/buckets.js";
import { builder } from "../builder.js";

export const GRANULARITIES = USAGE_GRANULARITIES;
export type Granularity = (typeof GRANULARITIES)[number];

export const UsageGranularityEnum = builder.enumType("UsageGranularity", { values: GRANULARITIES });
