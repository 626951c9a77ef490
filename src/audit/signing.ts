import {
  calculateJwkThumbprint,
  compactVerify,
  CompactSign,
  exportJWK,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JWK,
} from "jose";
import { z } from "zod";
import type { SqlClient } from "../db/database.js";

export const CHECKPOINT_ALG = "ES256";
export const SIGNING_JWK_VARIABLE = "CHECKPOINT_SIGNING_JWK";

/** The public half of a P-256 key, exactly the members a verifier needs. */
export interface PublicJwk {
  kty: "EC";
  crv: "P-256";
  x: string;
  y: string;
}

/** What a JWKS serves for one key. */
export interface PublishedJwk extends PublicJwk {
  kid: string;
  alg: typeof CHECKPOINT_ALG;
  use: "sig";
}

export interface Jwks {
  keys: PublishedJwk[];
}

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: PublicJwk;
}

export class SigningKeyError extends Error {
  override name = "SigningKeyError";
}

const coordinate = z.string().regex(/^[A-Za-z0-9_-]+$/, "must be base64url");
const privateJwkSchema = z.object({
  kty: z.literal("EC"),
  crv: z.literal("P-256"),
  x: coordinate,
  y: coordinate,
  d: coordinate,
  kid: z.string().min(1).optional(),
});

const publicJwkSchema = z.object({ kty: z.literal("EC"), crv: z.literal("P-256"), x: coordinate, y: coordinate });

/**
 * The key this process signs checkpoints with. CHECKPOINT_SIGNING_JWK (a private ES256 JWK) makes it
 * stable across restarts; without it every process generates its own key pair at start, which keeps
 * several stateless processes working with no configuration. Either way the public half is registered
 * in `signing_keys` so checkpoints stay verifiable after the process is gone.
 */
export async function loadOrCreateSigningKey(db: SqlClient, env: NodeJS.ProcessEnv = process.env): Promise<SigningKey> {
  const configured = env[SIGNING_JWK_VARIABLE]?.trim();
  const key = configured ? await importConfiguredKey(configured) : await generateEphemeralKey();
  await registerPublicKey(db, key);
  return key;
}

async function generateEphemeralKey(): Promise<SigningKey> {
  // Not extractable: the private key cannot leave this process's memory.
  const { privateKey, publicKey } = await generateKeyPair(CHECKPOINT_ALG);
  const publicJwk = publicPart(await exportJWK(publicKey));
  return { kid: await calculateJwkThumbprint(publicJwk), privateKey, publicJwk };
}

async function importConfiguredKey(json: string): Promise<SigningKey> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new SigningKeyError(`${SIGNING_JWK_VARIABLE} is not JSON: it must be a private EC P-256 JWK`);
  }
  const result = privateJwkSchema.safeParse(parsed);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join(".") || "jwk"}: ${issue.message}`);
    throw new SigningKeyError(`${SIGNING_JWK_VARIABLE} must be a private EC P-256 JWK (${problems.join("; ")})`);
  }
  const jwk = result.data;
  const publicJwk = publicPart(jwk);
  let privateKey: CryptoKey;
  try {
    privateKey = (await importJWK({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, d: jwk.d }, CHECKPOINT_ALG)) as CryptoKey;
  } catch (error) {
    throw new SigningKeyError(`${SIGNING_JWK_VARIABLE} could not be imported: ${(error as Error).message}`);
  }
  const key = { kid: jwk.kid ?? (await calculateJwkThumbprint(publicJwk)), privateKey, publicJwk };
  await assertPairMatches(key);
  return key;
}

/** A JWK whose x and y do not belong to d would sign checkpoints nobody can verify: refuse it at start. */
async function assertPairMatches(key: SigningKey): Promise<void> {
  const probe = new TextEncoder().encode("keyledger signing key probe");
  const jws = await new CompactSign(probe).setProtectedHeader({ alg: CHECKPOINT_ALG }).sign(key.privateKey);
  try {
    await compactVerify(jws, await importJWK(key.publicJwk, CHECKPOINT_ALG), { algorithms: [CHECKPOINT_ALG] });
  } catch {
    throw new SigningKeyError(`${SIGNING_JWK_VARIABLE}: its public coordinates x and y do not match its private part d`);
  }
}

function publicPart(jwk: JWK): PublicJwk {
  const parsed = publicJwkSchema.safeParse(jwk);
  if (!parsed.success) throw new SigningKeyError("expected an EC P-256 key");
  const { kty, crv, x, y } = parsed.data;
  return { kty, crv, x, y };
}

async function registerPublicKey(db: SqlClient, key: SigningKey): Promise<void> {
  await db.query(`INSERT INTO signing_keys (kid, public_jwk) VALUES ($1, $2::jsonb) ON CONFLICT (kid) DO NOTHING`, [
    key.kid,
    JSON.stringify(key.publicJwk),
  ]);
  const { rows } = await db.query<{ public_jwk: unknown }>(`SELECT public_jwk FROM signing_keys WHERE kid = $1`, [key.kid]);
  const stored = publicJwkSchema.safeParse(rows[0]?.public_jwk);
  if (!stored.success || stored.data.x !== key.publicJwk.x || stored.data.y !== key.publicJwk.y) {
    throw new SigningKeyError(`kid ${JSON.stringify(key.kid)} is already registered for a different public key; choose another kid`);
  }
}

/** Every public key that ever signed a checkpoint, as served at /.well-known/jwks.json. */
export async function jwks(db: SqlClient): Promise<Jwks> {
  const { rows } = await db.query<{ kid: string; public_jwk: unknown }>(
    `SELECT kid, public_jwk FROM signing_keys ORDER BY created_at, kid`,
  );
  return { keys: rows.map((row) => ({ ...publicPart(row.public_jwk as JWK), kid: row.kid, alg: CHECKPOINT_ALG, use: "sig" })) };
}
