import { readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { z } from "zod";
import { signToken } from "../auth/tokens.js";
import { ROLES } from "../auth/viewer.js";
import type { Config } from "../config.js";
import { sendJson, type RouteHandler } from "./http.js";

export const DEV_SIGN_IN_PATH = "/auth/dev-token";
const MAX_BODY = 4096;

const signInRequest = z.object({
  userId: z.string().trim().min(1, "User id is required").max(128, "User id is at most 128 characters"),
  role: z.enum(ROLES, { error: `Role must be one of ${ROLES.join(", ")}` }),
});

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  let body = "";
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > MAX_BODY) return undefined;
  }
  return body;
}

/**
 * Development sign-in for the console: a token for any user id and role, signed with the
 * generated development secret. Registered only when the server runs on that secret (embedded
 * default, no JWT_SECRET, no JWKS_URL, not production), so it does not exist anywhere else.
 * GET tells the console it is available; POST (JSON only, which a cross-site form cannot send) signs.
 */
export function devSignInRoutes(devSecretFile: string, config: Config): Record<string, RouteHandler> {
  const secret = readFileSync(devSecretFile, "utf8").trim();
  const handler: RouteHandler = async (req, res) => {
    res.setHeader("cache-control", "no-store");
    if (req.method === "GET") return sendJson(res, 200, { available: true, roles: ROLES });
    if (req.method !== "POST") return sendJson(res, 405, { error: "use GET or POST", code: "BAD_REQUEST" });
    if (!String(req.headers["content-type"] ?? "").startsWith("application/json")) {
      return sendJson(res, 415, { error: "send application/json", code: "BAD_REQUEST" });
    }
    const body = await readBody(req);
    if (body === undefined) return sendJson(res, 413, { error: "the body is too large", code: "BAD_USER_INPUT" });
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return sendJson(res, 400, { error: "the body is not JSON", code: "BAD_USER_INPUT" });
    }
    const parsed = signInRequest.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return sendJson(res, 400, { error: issue.message, code: "BAD_USER_INPUT", field: String(issue.path[0] ?? "body") });
    }
    const { userId, role } = parsed.data;
    const token = await signToken(secret, { sub: userId, roles: [role], expiresIn: "12h", issuer: config.jwt.issuer, audience: config.jwt.audience });
    sendJson(res, 200, { token, userId, roles: [role], expiresIn: 43_200 });
  };
  return { [DEV_SIGN_IN_PATH]: handler };
}
