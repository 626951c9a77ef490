import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import { SERVICE_SLUGS, type Service } from "./services.js";

/**
 * A key: `klp_<service>_<43 base62 chars: 256 random bits><6 base62 chars: CRC32 of all before>`,
 * e.g. `klp_sms_4Fh…Qz0aB1c2`. The prefix makes a leaked key recognisable; the checksum lets
 * secret scanners (and our verifier) reject a mistyped or made-up key without a lookup.
 */
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
export const KEY_PREFIX = "klp_";
export const RANDOM_LENGTH = 43;
export const CHECKSUM_LENGTH = 6;
export const RANDOM_BYTES = 32;

const SERVICE_BY_SLUG = new Map(Object.entries(SERVICE_SLUGS).map(([service, slug]) => [slug, service as Service]));
const KEY_PATTERN = new RegExp(`^${KEY_PREFIX}([a-z]+)_([0-9A-Za-z]{${RANDOM_LENGTH}})([0-9A-Za-z]{${CHECKSUM_LENGTH}})$`);

function toBase62(value: bigint, length: number): string {
  let out = "";
  while (value > 0n) {
    out = BASE62[Number(value % 62n)]! + out;
    value /= 62n;
  }
  return out.padStart(length, "0");
}

function checksumOf(text: string): string {
  return toBase62(BigInt(crc32(text)), CHECKSUM_LENGTH);
}

export function servicePrefix(service: Service): string {
  return `${KEY_PREFIX}${SERVICE_SLUGS[service]}_`;
}

/** Builds the key from 32 random bytes the caller supplies (the domain draws no randomness itself). */
export function formatKey(service: Service, randomBytes: Uint8Array): string {
  if (randomBytes.length !== RANDOM_BYTES) throw new RangeError(`a key needs ${RANDOM_BYTES} random bytes`);
  const random = toBase62(BigInt(`0x${Buffer.from(randomBytes).toString("hex")}`), RANDOM_LENGTH);
  const body = `${servicePrefix(service)}${random}`;
  return `${body}${checksumOf(body)}`;
}

export interface ParsedKey {
  service: Service;
}

/** The key's service if it is well formed and its checksum holds; undefined otherwise. */
export function parseKey(key: string): ParsedKey | undefined {
  const match = KEY_PATTERN.exec(key);
  if (!match) return undefined;
  const service = SERVICE_BY_SLUG.get(match[1]!);
  if (!service) return undefined;
  if (checksumOf(key.slice(0, -CHECKSUM_LENGTH)) !== match[3]) return undefined;
  return { service };
}

/** What is stored and looked up: the SHA-256 of the key, hex. The key itself is never stored. */
export function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

export interface KeyDisplay {
  /** `klp_sms_` */
  prefix: string;
  /** The first four random characters. */
  start: string;
  /** The last four characters of the key. */
  end: string;
}

export function displayParts(key: string): KeyDisplay {
  const prefix = key.slice(0, key.lastIndexOf("_") + 1);
  return { prefix, start: key.slice(prefix.length, prefix.length + 4), end: key.slice(-4) };
}

export function maskKey(display: KeyDisplay): string {
  return `${display.prefix}${display.start}…${display.end}`;
}
