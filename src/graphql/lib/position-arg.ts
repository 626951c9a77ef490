import { parsePosition } from "../../eventstore/position.js";
import { badInput } from "../errors.js";

/** A log position argument (digits, 64-bit); BAD_USER_INPUT naming `field` otherwise. */
export function positionArg(field: string, value: string | null | undefined): bigint | undefined {
  if (value == null) return undefined;
  const position = parsePosition(value);
  if (position === undefined) throw badInput(field, `${field} must be a log position (digits)`);
  return position;
}
