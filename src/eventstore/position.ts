/** A log position as clients write it: 1 to 19 digits (a 64-bit position). Undefined when it is not one. */
export function parsePosition(value: string): bigint | undefined {
  return /^\d{1,19}$/.test(value) ? BigInt(value) : undefined;
}
