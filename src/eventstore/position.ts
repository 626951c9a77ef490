const POSITION = /^\d{1,19}$/;
export const MAX_POSITION = 2n ** 63n - 1n;

/**
 * A log position as clients write it: up to 19 digits, undefined for anything else. A number past
 * the largest 64-bit position names a point after every event, so it is clamped to that.
 */
export function parsePosition(value: string): bigint | undefined {
  if (!POSITION.test(value)) return undefined;
  const position = BigInt(value);
  return position > MAX_POSITION ? MAX_POSITION : position;
}
