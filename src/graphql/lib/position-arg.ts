import { badInput } from "../errors.js";

const POSITION = /^\d{1,19}$/;

/** A log position argument (digits, 64-bit); BAD_USER_INPUT naming `field` otherwise. */
export function positionArg(field: string, value: string | null | undefined): bigint | undefined {
  if (value == null) return undefined;
  if (!POSITION.test(value)) throw badInput(field, `${field} must be a log position (digits)`);
  return BigInt(value);
}
