import { AuthenticationError } from "./errors.js";
import { bearerToken, type TokenVerifier } from "./tokens.js";
import type { Viewer } from "./viewer.js";

export type Authentication = { viewer: Viewer } | { error: Error };

/** The caller behind an Authorization value, or why there is none (resolvers that need one throw it). */
export async function authenticate(verify: TokenVerifier, authorization: unknown): Promise<Authentication> {
  try {
    const token = bearerToken(typeof authorization === "string" ? authorization : undefined);
    if (!token) return { error: new AuthenticationError("Authentication required: send Authorization: Bearer <token>") };
    return { viewer: await verify(token) };
  } catch (error) {
    return { error: error as Error };
  }
}
