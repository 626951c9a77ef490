import type { ServerResponse } from "node:http";
import { exportNdjson, ownerStreamIds } from "../audit/export.js";
import { jwks } from "../audit/signing.js";
import { authenticate } from "../auth/authenticate.js";
import type { TokenVerifier } from "../auth/tokens.js";
import { readScope, readsOwnKeys } from "../auth/visibility.js";
import type { Database } from "../db/database.js";
import { parsePosition } from "../eventstore/position.js";
import { sendJson, type RouteHandler } from "./http.js";
import type { RequestWithId } from "./yoga.js";

/** GET /.well-known/jwks.json: the public keys that signed checkpoints, for auditors. */
function jwksRoute(db: Database): RouteHandler {
  return async (_req, res) => {
    res.setHeader("cache-control", "public, max-age=60");
    sendJson(res, 200, await jwks(db));
  };
}

/**
 * GET /events.ndjson?after=P: the log streamed as NDJSON with flat memory, authorised like
 * Query.events (auditors and admins: everything; owners: their keys' events).
 */
function eventsNdjsonRoute(db: Database, verifyToken: TokenVerifier, caughtUp: () => Promise<void>): RouteHandler {
  return async (req: RequestWithId, res: ServerResponse) => {
    if (req.method !== "GET") return sendJson(res, 405, { error: "use GET" });
    const auth = await authenticate(verifyToken, req.headers.authorization);
    if ("error" in auth) return sendJson(res, 401, { error: auth.error.message, code: "UNAUTHENTICATED" });
    if (!readsOwnKeys(auth.viewer)) return sendJson(res, 403, { error: "needs the owner, auditor or admin role", code: "FORBIDDEN" });
    const after = new URL(req.url ?? "/", "http://localhost").searchParams.get("after") ?? "0";
    const afterPosition = parsePosition(after);
    if (afterPosition === undefined) return sendJson(res, 400, { error: "after must be a log position", code: "BAD_USER_INPUT", field: "after" });
    const { ownerId } = readScope(auth.viewer);
    const filter = ownerId === undefined ? undefined : { streamIds: await ownerStreamIds(db, ownerId) };
    await caughtUp();
    res.writeHead(200, { "content-type": "application/x-ndjson" });
    await exportNdjson(db, afterPosition, res, { filter });
    res.end();
  };
}

/** `caughtUp` resolves once what this process committed is sealed: an export after a write includes it. */
export function auditRoutes(db: Database, verifyToken: TokenVerifier, caughtUp: () => Promise<void>): Record<string, RouteHandler> {
  return { "/.well-known/jwks.json": jwksRoute(db), "/events.ndjson": eventsNdjsonRoute(db, verifyToken, caughtUp) };
}
