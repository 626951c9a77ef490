import type { AddressInfo } from "node:net";
import { tokenVerifierFor } from "../auth/setup.js";
import type { Config } from "../config.js";
import type { Services } from "../graphql/context.js";
import { auditRoutes } from "./audit-routes.js";
import { consoleRoutes } from "./console-routes.js";
import { devSignInRoutes } from "./dev-sign-in.js";
import { createHttpServer } from "./http.js";
import type { Logger } from "./logger.js";
import { openServices } from "./services.js";
import { attachGraphQLWebSocket } from "./websocket.js";
import { createYogaServer } from "./yoga.js";

export interface RunningServer {
  url: string;
  port: number;
  services: Services;
  /** Set when the server signs development tokens with a secret it keeps in DATA_DIR. */
  devSecretFile?: string;
  /** Stops accepting, lets in-flight requests finish (up to the shutdown timeout), closes sockets and the database. */
  stop(): Promise<void>;
}

export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  const { verifyToken, devSecretFile } = tokenVerifierFor(config);
  const services = await openServices(config, logger, verifyToken);
  const yoga = createYogaServer(config, services);
  const routes = { ...auditRoutes(services.db, verifyToken), ...(devSecretFile ? devSignInRoutes(devSecretFile, config) : {}) };
  const server = createHttpServer(yoga, services.db, logger, routes, consoleRoutes());
  const websocket = attachGraphQLWebSocket(server, yoga, verifyToken);

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.port, config.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await services.close();
    throw error;
  }
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
      await services.close();
    })());

  return { url: `http://${shownHost}:${port}/graphql`, port, services, devSecretFile, stop };
}
