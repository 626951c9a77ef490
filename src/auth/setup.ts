import { ConfigError, type Config } from "../config.js";
import { ensureDevSecret } from "./dev-secret.js";
import { AuthenticationError } from "./errors.js";
import { bearerToken, createTokenVerifier, type TokenVerifier } from "./tokens.js";
import type { Viewer } from "./viewer.js";

export type Authentication = { viewer: Viewer } | { error: Error };

/** JWT_SECRET or JWKS_URL; on the embedded default without either, a development secret in DATA_DIR. */
export function tokenVerifierFor(config: Config): { verifyToken: TokenVerifier; devSecretFile?: string } {
  const { secret, jwksUrl } = config.jwt;
  if (secret || jwksUrl) return { verifyToken: createTokenVerifier(config.jwt) };
  if (config.databaseUrl || config.nodeEnv === "production") {
    throw new ConfigError("Invalid configuration:\n  set JWT_SECRET (HS256) or JWKS_URL: the development secret is only for the embedded default");
  }
  const dev = ensureDevSecret(config.dataDir);
  return { verifyToken: createTokenVerifier({ ...config.jwt, secret: dev.secret }), devSecretFile: dev.file };
}

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
