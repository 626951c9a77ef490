import { decodeGlobalID } from "@pothos/plugin-relay";

/**
 * A stream filter as clients write it: an ApiKey global ID or a raw stream id. Unlike keyIdOf it
 * accepts anything: an id that names no stream just matches no event.
 */
export function streamIdOf(value: string): string {
  try {
    const { typename, id } = decodeGlobalID(value);
    if (typename === "ApiKey") return id;
  } catch {
    // not a global ID: a raw stream id
  }
  return value;
}
