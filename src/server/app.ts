import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createYoga, type YogaInitialContext, type YogaServerInstance } from "graphql-yoga";
import { useDisableIntrospection } from "@graphql-yoga/plugin-disable-introspection";
import { AuthenticationError } from "../auth/errors.js";
import { WebSocketServer } from "ws";
import { useServer } from "graphql-ws/use/ws";
import { ensureDevSecret } from "../auth/dev-secret.js";
import { bearerToken, createTokenVerifier, type TokenVerifier } from "../auth/tokens.js";
import { ApiKeyCommands } from "../commands/api-keys.js";
import { KeyVerifier } from "../commands/verify-keys.js";
import { ConfigError, type Config } from "../config.js";
import type { Database } from "../db/database.js";
import { isMigrated, migrate } from "../db/migrator.js";
import { openDatabase } from "../db/open.js";
import { EventStore } from "../eventstore/event-store.js";
import type { Context, Services } from "../graphql/context.js";
import { createErrorMasker } from "../graphql/errors.js";
import { schema } from "../graphql/schema.js";
import { projections } from "../projections/index.js";
import { LogFollower } from "../subscriptions/log-follower.js";
import type { Logger } from "./logger.js";

export interface RunningServer {
  url: string;
  port: number;
  services: Services;
  /** Set when the server signs development tokens with a secret it keeps in DATA_DIR. */
  devSecretFile?: string;
  /** Stops accepting, lets in-flight requests finish (up to the shutdown timeout), closes sockets and the database. */
  stop(): Promise<void>;
}

type ServerContext = { req: IncomingMessage; res: ServerResponse; requestId?: string };

function requestIdOf(req: IncomingMessage): string {
  const supplied = req.headers["x-request-id"];
  return typeof supplied === "string" && /^[\w.:-]{1,128}$/.test(supplied) ? supplied : randomUUID();
}

async function authenticate(verify: TokenVerifier, header: unknown): Promise<Context["auth"]> {
  try {
    const token = bearerToken(typeof header === "string" ? header : undefined);
    if (!token) return { error: new AuthenticationError("Authentication required: send Authorization: Bearer <token>") };
    return { viewer: await verify(token) };
  } catch (error) {
    return { error: error as Error };
  }
}

function createYogaServer(config: Config, services: Services): YogaServerInstance<ServerContext, Context> {
  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: "/graphql",
    landingPage: false,
    logging: false,
    maskedErrors: { maskError: createErrorMasker(services.logger) },
    graphiql: config.graphiql ? { subscriptionsProtocol: "WS", title: "keyledger" } : false,
    plugins: config.introspection ? [] : [useDisableIntrospection()],
    context: async ({ req, request, connectionParams }: YogaInitialContext & ServerContext & { connectionParams?: Record<string, unknown> }) => ({
      ...services,
      requestId: (req as IncomingMessage & { id?: string }).id ?? randomUUID(),
      // graphql-ws requests carry the token in connectionParams; HTTP and SSE in the header.
      auth: await authenticate(
        services.verifyToken,
        connectionParams || !request
          ? (connectionParams?.authorization ?? connectionParams?.Authorization)
          : request.headers.get("authorization"),
      ),
    }),
  });
}

/** JWT_SECRET or JWKS_URL; on the embedded default without either, a development secret in DATA_DIR. */
export function tokenSettings(config: Config): { verifier: TokenVerifier; devSecretFile?: string } {
  const { secret, jwksUrl, issuer, audience } = config.jwt;
  if (secret || jwksUrl) return { verifier: createTokenVerifier({ secret, jwksUrl, issuer, audience }) };
  if (config.databaseUrl || config.nodeEnv === "production") {
    throw new ConfigError("Invalid configuration:\n  set JWT_SECRET (HS256) or JWKS_URL: the development secret is only for the embedded default");
  }
  const dev = ensureDevSecret(config.dataDir);
  return { verifier: createTokenVerifier({ secret: dev.secret, issuer, audience }), devSecretFile: dev.file };
}

async function readiness(db: Database): Promise<{ ready: boolean; reason?: string }> {
  try {
    return (await isMigrated(db)) ? { ready: true } : { ready: false, reason: "migrations pending" };
  } catch {
    return { ready: false, reason: "database unreachable" };
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  const { verifier: verifyToken, devSecretFile } = tokenSettings(config);
  const db = await openDatabase(config, (error) => logger.error({ err: error }, "database connection error"));
  let store: EventStore;
  try {
    const report = await migrate(db);
    if (report.applied.length > 0) logger.info({ applied: report.applied }, "migrations applied");
    if (report.unknown.length > 0) {
      logger.warn({ unknown: report.unknown }, "database has migrations this release does not know");
    }
    store = new EventStore(db, { projections });
  } catch (error) {
    await db.close();
    throw error;
  }

  const follower = new LogFollower(store, db, logger);
  try {
    await follower.start();
  } catch (error) {
    await db.close();
    throw error;
  }
  const services: Services = {
    db,
    store,
    logger,
    commands: new ApiKeyCommands(store),
    verifier: new KeyVerifier(db, store),
    verifyToken,
    follower,
    subscriptionBuffer: config.subscriptionBuffer,
  };
  const yoga = createYogaServer(config, services);

  const server: Server = createServer(async (req, res) => {
    const started = performance.now();
    const requestId = requestIdOf(req);
    (req as IncomingMessage & { id?: string }).id = requestId;
    res.setHeader("x-request-id", requestId);
    res.on("finish", () => {
      logger.info(
        { requestId, method: req.method, path: req.url?.split("?")[0], status: res.statusCode, ms: Math.round(performance.now() - started) },
        "request",
      );
    });
    const path = req.url?.split("?")[0];
    if (path === "/healthz") return sendJson(res, 200, { status: "ok" });
    if (path === "/readyz") {
      const state = await readiness(db);
      return sendJson(res, state.ready ? 200 : 503, { status: state.ready ? "ready" : "not ready", ...state });
    }
    return yoga.handle(req, res, { req, res, requestId });
  });

  const wsServer = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
  const wsCleanup = useServer(
    {
      execute: (args) => (args.rootValue as { execute: typeof import("graphql").execute }).execute(args),
      subscribe: (args) => (args.rootValue as { subscribe: typeof import("graphql").subscribe }).subscribe(args),
      // A missing or bad token closes the socket with 4403 Forbidden before any operation runs.
      onConnect: async (ctx) => {
        const auth = await authenticate(verifyToken, ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization);
        return "viewer" in auth;
      },
      onSubscribe: async (ctx, _id, params) => {
        const request = ctx.extra.request;
        (request as IncomingMessage & { id?: string }).id ??= requestIdOf(request);
        const { schema: envelopedSchema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: request,
          socket: ctx.extra.socket,
          params,
        });
        const args = {
          schema: envelopedSchema,
          operationName: params.operationName,
          document: parse(params.query),
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        if (errors.length) return errors;
        return args;
      },
    },
    wsServer,
  );

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await wsCleanup.dispose();
      const timeout = new Promise<void>((resolve) => {
        setTimeout(() => {
          server.closeAllConnections();
          resolve();
        }, config.shutdownTimeoutMs).unref();
      });
      await Promise.race([closed, timeout]);
      await follower.stop();
      await db.close();
    })());

  return { url: `http://${shownHost}:${port}/graphql`, port, services, devSecretFile, stop };
}
