import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tokenVerifierFor } from "../auth/configured-verifier.js";
import type { Config } from "../config.js";
import type { Dependencies } from "../graphql/context.js";
import { gatewayRoutes } from "../gateway/routes.js";
import { auditRoutes } from "./audit-routes.js";
import { observe } from "../observability/metrics.js";
import { startTracing } from "../observability/tracing.js";
import { consoleRoutes } from "./console-routes.js";
import { devSignInRoutes } from "./dev-sign-in.js";
import { answerClientError } from "./client-errors.js";
import { createHttpServer } from "./http.js";
import { metricsRoute, startMetricsServer } from "./metrics-route.js";
import type { Logger } from "./logger.js";
import { openDependencies } from "./dependencies.js";
import { attachGraphQLWebSocket } from "./websocket.js";
import { createYogaServer } from "./yoga.js";

export interface RunningServer {
  url: string;
  port: number;
  /** Set when METRICS_PORT is: the port of the /metrics-only listener. */
  metricsPort?: number;
  services: Dependencies;
  /** Set when the server signs development tokens with a secret it keeps in DATA_DIR. */
  devSecretFile?: string;
  /** Stops accepting, lets in-flight requests finish (up to the shutdown timeout), closes sockets and the database. */
  stop(): Promise<void>;
}

/** What a test may inject: the clock that expiry, refills and rate limits read. */
export interface ServerOptions {
  clock?: () => Date;
}

export async function startServer(config: Config, logger: Logger, options: ServerOptions = {}): Promise<RunningServer> {
  const { verifyToken, devSecretFile } = tokenVerifierFor(config);
  const stopTracing = config.otlpEndpoint ? await startTracing(config.otlpEndpoint) : async () => {};
  const services = await openDependencies(config, logger, verifyToken, options.clock);
  const yoga = createYogaServer(config, services);
  const routes = {
    ...auditRoutes(services.db, verifyToken, () => services.store.caughtUp()),
    ...gatewayRoutes(services),
    "/metrics": metricsRoute(verifyToken, config.metricsToken),
    ...(devSecretFile ? devSignInRoutes(devSecretFile, config) : {}),
  };
  const server = createHttpServer({ yoga, db: services.db, logger, routes, fallback: consoleRoutes() });
  server.on("clientError", answerClientError);
  const unobserve = observe({ subscriptions: () => services.follower.subscriberCount, pool: () => services.db.stats?.() });
  let metricsServer: Server | undefined;

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.port, config.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    if (config.metricsPort !== undefined) metricsServer = await startMetricsServer(config.host, config.metricsPort, config.metricsToken);
  } catch (error) {
    server.close();
    unobserve();
    await services.close();
    await stopTracing();
    throw error;
  }
  // Attached once listening: a port already in use is then one clear error, not also the WebSocket
  // server's "Internal error emitted…" with a stack trace.
  const websocket = attachGraphQLWebSocket(server, yoga, verifyToken);
  const port = (server.address() as AddressInfo).port;
  const shownHost = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await websocket.dispose();
      const timeout = new Promise<void>((resolve) => {
        setTimeout(() => {
          server.closeAllConnections();
          resolve();
        }, config.shutdownTimeoutMs).unref();
      });
      await Promise.race([closed, timeout]);
      metricsServer?.close();
      unobserve();
      await services.close();
      await stopTracing();
    })());

  const metricsPort = metricsServer ? (metricsServer.address() as AddressInfo).port : undefined;
  return { url: `http://${shownHost}:${port}/graphql`, port, metricsPort, services, devSecretFile, stop };
}
