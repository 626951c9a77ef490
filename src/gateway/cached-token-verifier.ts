import { decodeJwt } from "jose";
import type { TokenVerifier } from "../auth/tokens.js";
import type { Viewer } from "../auth/viewer.js";

export interface TokenCacheOptions {
  /** How long a verified token is trusted without verifying it again (never past its `exp`). */
  ttlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

/**
 * A proxy sends the same gateway token with every request, and verifying its signature was the
 * largest single cost of a forward-auth answer. Successful verifications are remembered per token
 * string for `ttlMs` (default 60 s) or until the token's `exp`, whichever is first; failures are
 * not remembered. keyledger has no token revocation, so this only delays one thing by up to
 * `ttlMs`: a signing key withdrawn from JWKS_URL.
 */
export function cachedTokenVerifier(verify: TokenVerifier, options: TokenCacheOptions = {}): TokenVerifier {
  const { ttlMs = 60_000, maxEntries = 1_000, now = Date.now } = options;
  const cache = new Map<string, { viewer: Viewer; until: number }>();
  return async (token) => {
    const hit = cache.get(token);
    if (hit && hit.until > now()) return hit.viewer;
    cache.delete(token);
    const viewer = await verify(token);
    const exp = decodeJwt(token).exp;
    const until = Math.min(now() + ttlMs, exp === undefined ? Infinity : exp * 1000);
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
    cache.set(token, { viewer, until });
    return viewer;
  };
}
