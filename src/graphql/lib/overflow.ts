import { OVERFLOWED } from "../../subscriptions/bounded-stream.js";
import { graphQLError } from "../errors.js";

/** A subscription's payload, or SUBSCRIPTION_OVERFLOW once the subscriber fell too far behind. */
export function unlessOverflowed<T>(payload: T | typeof OVERFLOWED, advice = "subscribe again to continue."): T {
  if (payload === OVERFLOWED) throw graphQLError("SUBSCRIPTION_OVERFLOW", `This subscription fell too far behind and was closed; ${advice}`);
  return payload;
}
