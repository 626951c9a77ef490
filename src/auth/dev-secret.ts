import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const DEV_SECRET_FILE = "dev-jwt-secret";

/**
 * Zero-setup development: on the embedded default without JWT_SECRET, a random HS256 secret is
 * created in DATA_DIR on first start (readable only by its owner) and reused afterwards.
 */
export function ensureDevSecret(dataDir: string): { secret: string; file: string; created: boolean } {
  const file = join(dataDir, DEV_SECRET_FILE);
  try {
    return { secret: readFileSync(file, "utf8").trim(), file, created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString("base64url");
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
  return { secret, file, created: true };
}

export function readDevSecret(dataDir: string): string | undefined {
  try {
    return readFileSync(join(dataDir, DEV_SECRET_FILE), "utf8").trim();
  } catch {
    return undefined;
  }
}
