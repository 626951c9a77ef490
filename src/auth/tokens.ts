import { createSecretKey, type KeyObject } from "node:crypto";
import { createRemoteJWKSet, errors, jwtVerify, SignJWT, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { AuthenticationError } from "./errors.js";
import { ROLES, type Role, type Viewer } from "./viewer.js";

export interface TokenSettings {
  secret?: string;
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  /** Refuse tokens that live longer than this (exp − iat, and exp − now); unset: no maximum. */
  maxLifetimeSeconds?: number;
  /** Refuse tokens without `exp`. */
  requireExp?: boolean;
}

/** The longest bearer token accepted on any transport (HTTP header, graphql-ws connectionParams). */
export const MAX_TOKEN_LENGTH = 8192;

const CLOCK_TOLERANCE_SECONDS = 5;

export type TokenVerifier = (token: string) => Promise<Viewer>;

const ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

const isRole = (name: string): name is Role => (ROLES as readonly string[]).includes(name);

function viewerFromClaims(payload: JWTPayload): Viewer {
  if (typeof payload.sub !== "string" || payload.sub.length === 0) {
    throw new AuthenticationError("The token has no subject (sub)");
  }
  // The subject is written into the log as the actor: text PostgreSQL cannot store is refused here.
  if (/\u0000|\p{Surrogate}/u.test(payload.sub)) {
    throw new AuthenticationError("The token's subject holds a NUL character or a lone surrogate");
  }
  const claimed = (payload as { roles?: unknown }).roles;
  if (claimed !== undefined && !(Array.isArray(claimed) && claimed.every((r) => typeof r === "string"))) {
    throw new AuthenticationError("The token's roles claim must be an array of strings");
  }
  const unknown = (claimed ?? []).filter((r) => !isRole(r));
  if (unknown.length > 0) {
    throw new AuthenticationError(`The token's roles claim holds an unknown role (roles are ${ROLES.join(", ")})`);
  }
  const roles = new Set<Role>(claimed?.filter(isRole));
  if (roles.size === 0) roles.add("owner");
  return { userId: payload.sub, roles, expiresAt: payload.exp === undefined ? undefined : payload.exp * 1000 };
}

/** The lifetime policy: `exp` present unless configured otherwise, and no longer-lived than the maximum. */
function checkLifetime(payload: JWTPayload, settings: TokenSettings): void {
  if (payload.exp === undefined) {
    if (settings.requireExp) throw new AuthenticationError("The token has no expiry (exp)");
    return;
  }
  const max = settings.maxLifetimeSeconds;
  if (max === undefined) return;
  const now = Math.floor(Date.now() / 1000);
  const lifetime = Math.max(payload.exp - now, payload.iat === undefined ? 0 : payload.exp - payload.iat);
  if (lifetime > max + CLOCK_TOLERANCE_SECONDS) {
    throw new AuthenticationError(`The token lives longer than the accepted maximum of ${max} seconds`);
  }
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "The token has expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "nbf") return "The token is not valid yet";
    return `The token's ${error.claim} claim is not accepted`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return "The token's signing algorithm is not accepted";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "The token's signature is invalid";
  if (error instanceof AuthenticationError) return error.message;
  return "The token is invalid";
}

/**
 * Verifies bearer tokens with jose: HS256 with JWT_SECRET, or the keys at JWKS_URL.
 * Only those algorithms are accepted, so `alg: none` and algorithm-confusion tokens fail.
 */
export function createTokenVerifier(settings: TokenSettings): TokenVerifier {
  let key: KeyObject | JWTVerifyGetKey;
  let algorithms: string[];
  if (settings.secret) {
    // A KeyObject made once: jose would otherwise import the raw secret on every verification.
    key = createSecretKey(Buffer.from(settings.secret, "utf8"));
    algorithms = ["HS256"];
  } else if (settings.jwksUrl) {
    key = createRemoteJWKSet(new URL(settings.jwksUrl));
    algorithms = ASYMMETRIC;
  } else {
    throw new Error("createTokenVerifier needs a secret or a JWKS URL");
  }
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, key as KeyObject, {
        algorithms,
        issuer: settings.issuer,
        audience: settings.audience,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      });
      checkLifetime(payload, settings);
      return viewerFromClaims(payload);
    } catch (error) {
      throw new AuthenticationError(describe(error));
    }
  };
}

export interface TokenRequest {
  sub: string;
  roles?: Role[];
  expiresIn?: string;
  issuer?: string;
  audience?: string;
}

export async function signToken(secret: string, request: TokenRequest): Promise<string> {
  let jwt = new SignJWT({ roles: request.roles ?? ["owner"] })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(request.sub)
    .setIssuedAt()
    .setExpirationTime(request.expiresIn ?? "12h");
  if (request.issuer) jwt = jwt.setIssuer(request.issuer);
  if (request.audience) jwt = jwt.setAudience(request.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}

/** The token in an `Authorization: Bearer …` value; undefined when absent; an error when malformed. */
export function bearerToken(header: string | undefined | null): string | undefined {
  if (header === undefined || header === null || header === "") return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new AuthenticationError("The Authorization header must be 'Bearer <token>'");
  if (match[1]!.length > MAX_TOKEN_LENGTH) throw new AuthenticationError(`The token is too long (at most ${MAX_TOKEN_LENGTH} characters)`);
  return match[1];
}
