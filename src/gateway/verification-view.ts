import type { ServerResponse } from "node:http";
import { encodeGlobalID } from "@pothos/plugin-relay";
import type { RatelimitAnswer, Verification } from "../domain/verification.js";
import type { VerifyKeyResponseBody } from "./contract.js";

/** The key's id as GraphQL shows it (ApiKey's global ID), so a gateway can look it up there. */
export const globalKeyId = (keyId: string) => encodeGlobalID("ApiKey", keyId);

/** The verifier's answer in the shape of GraphQL's VerifyApiKeyPayload: the key's fields are null when it is unknown, ratelimits empty. */
export function verificationBody(verification: Verification): VerifyKeyResponseBody {
  const known = verification.keyId !== undefined;
  return {
    valid: verification.code === "VALID",
    code: verification.code,
    keyId: known ? globalKeyId(verification.keyId!) : null,
    ownerId: verification.ownerId ?? null,
    expiresAt: verification.expiresAt?.toISOString() ?? null,
    permissions: known ? (verification.permissions ?? []) : null,
    meta: verification.meta ?? null,
    credits: verification.credits ? { remaining: verification.credits.remaining } : null,
    ratelimits: (verification.ratelimits ?? []).map((r) => ({ ...r, resetAt: r.resetAt.toISOString() })),
  };
}

/** The rate limits a request named (with their costs), or undefined for the default: all of the key's at cost 1. */
export type AppliedRatelimits = readonly { name: string; cost?: number | null }[] | null | undefined;

const secondsUntil = (at: Date, now: number) => Math.max(0, Math.ceil((at.getTime() - now) / 1000));

/**
 * The limit that refused a RATE_LIMITED request: the first applied one that could not admit its
 * cost (the verdict checks them in the order applied, and a refused answer shows what was left before it).
 */
function refusingLimit(verification: Verification, applied: AppliedRatelimits): RatelimitAnswer | undefined {
  if (verification.code !== "RATE_LIMITED") return undefined;
  const costOf = (name: string) => (applied ? (applied.find((a) => a.name === name)?.cost ?? 1) : 1);
  return verification.ratelimits?.find((r) => r.remaining < costOf(r.name));
}

/**
 * The HTTP headers of a verdict, for both endpoints: the IETF draft's RateLimit-Limit,
 * RateLimit-Remaining and RateLimit-Reset (delta seconds) for the limit that refused the request,
 * else the most restrictive one applied (lowest remaining); Retry-After (seconds, at least 1) for
 * RATE_LIMITED; X-Keyledger-Credits-Remaining when the key has credits.
 */
export function verificationHeaders(verification: Verification, applied: AppliedRatelimits, now = Date.now()): Record<string, string> {
  const headers: Record<string, string> = {};
  const refusing = refusingLimit(verification, applied);
  const shown = refusing ?? verification.ratelimits?.reduce<RatelimitAnswer | undefined>((low, r) => (low && low.remaining <= r.remaining ? low : r), undefined);
  if (shown) {
    headers["ratelimit-limit"] = String(shown.limit);
    headers["ratelimit-remaining"] = String(shown.remaining);
    headers["ratelimit-reset"] = String(secondsUntil(shown.resetAt, now));
  }
  if (refusing) headers["retry-after"] = String(Math.max(1, secondsUntil(refusing.resetAt, now)));
  if (verification.credits) headers["x-keyledger-credits-remaining"] = String(verification.credits.remaining);
  return headers;
}

/** Sets the verdict's headers on a response that is about to be written. */
export function setVerificationHeaders(res: ServerResponse, verification: Verification, applied: AppliedRatelimits, now: number): void {
  for (const [name, value] of Object.entries(verificationHeaders(verification, applied, now))) res.setHeader(name, value);
}
