import { REFILL_INTERVALS } from "../../domain/policies/credits.js";
import { builder } from "../builder.js";

export const RefillIntervalEnum = builder.enumType("RefillInterval", {
  description: "Refills happen at 00:00 UTC: every day, or on `day` of every month (clamped to the month's length)",
  values: REFILL_INTERVALS,
});
