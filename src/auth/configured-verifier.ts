import { ConfigError, type Config } from "../config.js";
import { ensureDevSecret } from "./dev-secret.js";
import { createTokenVerifier, type TokenVerifier } from "./tokens.js";

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
