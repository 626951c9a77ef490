import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { isDatabaseUnavailable, type Database } from "../db/database.js";
import { isMigrated } from "../db/migrator.js";
import { recordRequest } from "../observability/metrics.js";
import { tracingEnabled, withSpan } from "../observability/tracing.js";
import type { FallbackHandler } from "./console-routes.js";
import type { Logger } from "./logger.js";
import type { RequestWithId, Yoga } from "./yoga.js";

export function requestIdOf(req: IncomingMessage): string {
  const supplied = req.headers["x-request-id"];
  return typeof supplied === "string" && /^[\w.:-]{1,128}$/.test(supplied) ? supplied : randomUUID();
}

async function readiness(db: Database): Promise<{ ready: boolean; reason?: string }> {
  try {
    return (await isMigrated(db)) ? { ready: true } : { ready: false, reason: "migrations pending" };
  } catch {
    return { ready: false, reason: "database unreachable" };
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

export type RouteHandler = (req: RequestWithId, res: ServerResponse) => Promise<void> | void;

export interface HttpServerParts {
  yoga: Yoga;
  /** What /readyz checks. */
  db: Database;
  logger: Logger;
  /** Handlers by exact path, before Yoga. */
  routes?: Record<string, RouteHandler>;
  /** Asked after the routes and before Yoga (the console's files); returns false to pass the request on. */
  fallback?: FallbackHandler;
}

/** node:http in front of Yoga: request ids, one log line per request, probes and extra routes. */
export function createHttpServer({ yoga, db, logger, routes = {}, fallback }: HttpServerParts): Server {
  const handle = async (req: RequestWithId, res: ServerResponse, path: string) => {
    if (path === "/healthz") return sendJson(res, 200, { status: "ok" });
    if (path === "/readyz") {
      const state = await readiness(db);
      return sendJson(res, state.ready ? 200 : 503, { status: state.ready ? "ready" : "not ready", ...state });
    }
    const route = routes[path];
    if (route) {
      try {
        return await route(req, res);
      } catch (error) {
        logger.error({ err: error, requestId: req.id }, "route failed");
        if (!res.headersSent && isDatabaseUnavailable(error)) {
          return sendJson(res, 503, { error: "the database is unavailable; retry later", code: "SERVICE_UNAVAILABLE", requestId: req.id });
        }
        if (!res.headersSent) return sendJson(res, 500, { error: "internal server error", requestId: req.id });
        return void res.destroy();
      }
    }
    if (fallback?.(req, res)) return;
    return yoga.handle(req, res, { req, res });
  };
  return createServer((req: RequestWithId, res) => {
    const started = performance.now();
    const requestId = requestIdOf(req);
    req.id = requestId;
    res.setHeader("x-request-id", requestId);
    const path = req.url?.split("?")[0] ?? "/";
    // Known paths only, so that scanners cannot grow the metrics' and spans' label sets.
    const known = path === yoga.graphqlEndpoint || path === "/healthz" || path === "/readyz" || path in routes ? path : "other";
    res.on("finish", () => {
      const ms = performance.now() - started;
      logger.info({ requestId, method: req.method, path, status: res.statusCode, ms: Math.round(ms) }, "request");
      // GraphQL operations are counted by operation (useObservability); other routes here.
      if (known !== yoga.graphqlEndpoint) recordRequest(`http ${known}`, String(res.statusCode), ms / 1000);
    });
    void withSpan(
      `${req.method} ${known}`,
      { "http.request.method": req.method, "http.route": known, "url.path": path },
      async (span) => {
        await handle(req, res, path);
        if (!tracingEnabled()) return;
        if (!res.writableFinished) await new Promise((resolve) => res.once("close", resolve));
        span.setAttributes({ "http.response.status_code": res.statusCode });
        if (res.statusCode >= 500) span.fail(undefined, `HTTP ${res.statusCode}`);
      },
      { kind: "server", headers: req.headers },
    ).catch((error: unknown) => {
      logger.error({ err: error, requestId }, "request failed");
      if (!res.headersSent) sendJson(res, 500, { error: "internal server error", requestId });
      else res.destroy();
    });
  });
}
