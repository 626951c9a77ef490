import { authenticate } from "../auth/authenticate.js";
import type { TokenVerifier } from "../auth/tokens.js";
import type { Caller } from "../commands/api-keys.js";

/**
 * Forward-auth requests carry the customer's headers (their Authorization may hold the API key),
 * so the proxy sends its own credential in this header, set statically in its configuration.
 */
export const GATEWAY_TOKEN_HEADER = "X-Keyledger-Gateway-Token";

export type GatewayAuthentication = { caller: Caller } | { message: string };

/**
 * The gateway's credential is an ordinary keyledger JWT with the gateway role (long-lived, minted
 * with `npm run token -- --sub <gateway> --role gateway`, within JWT_MAX_LIFETIME): the same verifier and
 * roles as GraphQL, and its `sub` becomes the KeyUsed event's gatewayId. Whether the role suffices
 * is decided by the verifier itself (a ForbiddenError), not here.
 */
export async function authenticateGateway(
  verifyToken: TokenVerifier,
  authorization: string | undefined,
  requestId: string,
  /** What to say when there is no credential at all (where it is expected differs by route). */
  whenMissing?: string,
): Promise<GatewayAuthentication> {
  if (authorization === undefined && whenMissing) return { message: whenMissing };
  const auth = await authenticate(verifyToken, authorization);
  if ("error" in auth) return { message: auth.error.message };
  return { caller: { viewer: auth.viewer, requestId } };
}

/** The gateway token header's value as an Authorization value (the header holds the bare JWT). */
export function gatewayTokenAsAuthorization(value: string | string[] | undefined): string | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  return `Bearer ${value}`;
}
