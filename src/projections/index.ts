import type { InlineProjection } from "../eventstore/projection-hook.js";
import { apiKeysProjection } from "./api-keys.js";
import { keyUsageProjection } from "./key-usage.js";

/** Every read table, in the order they are applied. Rebuilds replay the log through the same list. */
export const projections: InlineProjection[] = [apiKeysProjection, keyUsageProjection];
