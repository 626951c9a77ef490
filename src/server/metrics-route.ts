import { timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import { authenticate } from "../auth/authenticate.js";
import type { TokenVerifier } from "../auth/tokens.js";
import { hasRole } from "../auth/viewer.js";
import { registry } from "../observability/metrics.js";
import { sendJson, type RouteHandler } from "./http.js";

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function sendMetrics(res: Parameters<RouteHandler>[1]): Promise<void> {
  const body = await registry.metrics();
  res.writeHead(200, { "content-type": registry.contentType });
  res.end(body);
}

/**
 * GET /metrics (Prometheus text format) for an admin token, or `Bearer <METRICS_TOKEN>` when one is
 * configured. No or a bad token: 401; a valid token without the admin role: 403.
 */
export function metricsRoute(verifyToken: TokenVerifier, metricsToken: string | undefined): RouteHandler {
  return async (req, res) => {
    if (req.method !== "GET") return sendJson(res, 405, { error: "use GET" });
    const header = req.headers.authorization;
    const bearer = /^Bearer\s+(\S+)$/i.exec(header ?? "")?.[1];
    if (!(metricsToken && bearer && sameSecret(bearer, metricsToken))) {
      const auth = await authenticate(verifyToken, header);
      if ("error" in auth) return sendJson(res, 401, { error: auth.error.message, code: "UNAUTHENTICATED" });
      if (!hasRole(auth.viewer, "admin")) return sendJson(res, 403, { error: "needs the admin role or the metrics token", code: "FORBIDDEN" });
    }
    await sendMetrics(res);
  };
}

/**
 * A second listener for scrapers (METRICS_PORT) that serves /metrics only: without a token when
 * METRICS_TOKEN is unset (keep that port on a private network), with it when it is set.
 */
export async function startMetricsServer(host: string, port: number, metricsToken: string | undefined): Promise<Server> {
  const server = createServer((req, res) => {
    if ((req.url ?? "/").split("?")[0] !== "/metrics") return sendJson(res, 404, { error: "only /metrics here" });
    if (req.method !== "GET") return sendJson(res, 405, { error: "use GET" });
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
    if (metricsToken && !(bearer && sameSecret(bearer, metricsToken))) return sendJson(res, 401, { error: "needs the metrics token", code: "UNAUTHENTICATED" });
    sendMetrics(res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}
