import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Database } from "../db/database.js";
import { isMigrated } from "../db/migrator.js";
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

/** node:http in front of Yoga: request ids, one log line per request, probes and extra routes. */
export function createHttpServer(yoga: Yoga, db: Database, logger: Logger, routes: Record<string, RouteHandler> = {}, fallback?: FallbackHandler): Server {
  return createServer(async (req: RequestWithId, res) => {
    const started = performance.now();
    const requestId = requestIdOf(req);
    req.id = requestId;
    res.setHeader("x-request-id", requestId);
    const path = req.url?.split("?")[0] ?? "/";
    res.on("finish", () => {
      logger.info({ requestId, method: req.method, path, status: res.statusCode, ms: Math.round(performance.now() - started) }, "request");
    });
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
        logger.error({ err: error, requestId }, "route failed");
        if (!res.headersSent) return sendJson(res, 500, { error: "internal server error", requestId });
        return void res.destroy();
      }
    }
    if (fallback?.(req, res)) return;
    return yoga.handle(req, res, { req, res });
  });
}
