import { decodeGlobalID } from "@pothos/plugin-relay";
import { notFound } from "../errors.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A raw key id as stored (lower-case UUID), or undefined when `id` cannot name a key. */
export function keyIdFromRaw(id: string): string | undefined {
  return UUID.test(id) ? id.toLowerCase() : undefined;
}

/** The key id inside an ApiKey global ID; anything else is NOT_FOUND, like a key that does not exist. */
export function keyIdOf(globalId: string): string {
  try {
    const { typename, id } = decodeGlobalID(globalId);
    const keyId = typename === "ApiKey" ? keyIdFromRaw(id) : undefined;
    if (keyId) return keyId;
  } catch {
    // fall through: an undecodable id names no key
  }
  throw notFound();
}
