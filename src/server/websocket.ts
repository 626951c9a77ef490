import type { Server } from "node:http";
import { GraphQLError, type execute as graphqlExecute, type subscribe as graphqlSubscribe } from "graphql";
import { CloseCode } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer, type WebSocket } from "ws";
import { authenticate } from "../auth/authenticate.js";
import type { TokenVerifier } from "../auth/tokens.js";
import { alarm } from "../graphql/plugins/token-expiry.js";
import { requestIdOf } from "./http.js";
import { MAX_REQUEST_BYTES, type RequestWithId, type Yoga } from "./yoga.js";

type Executors = { execute: typeof graphqlExecute; subscribe: typeof graphqlSubscribe };

/** connectionParams stand in for HTTP headers: the same cap as node's (16 KiB of headers, 431 beyond). */
export const MAX_CONNECTION_PARAMS_BYTES = 16 * 1024;

/** Closes the socket with 4403 when the token it authenticated with expires. */
function closeAtExpiry(socket: WebSocket, expiresAt: number): void {
  const expiry = alarm(expiresAt);
  void expiry.rings.then(() => socket.close(CloseCode.Forbidden, "Forbidden: the token has expired"));
  socket.once("close", expiry.cancel);
}

/** A document that does not parse fails its own operation with GRAPHQL_PARSE_FAILED, not the socket. */
function parseFailure(error: unknown): GraphQLError[] {
  if (!(error instanceof GraphQLError)) throw error;
  return [
    new GraphQLError(error.message, {
      source: error.source,
      positions: error.positions,
      extensions: { ...error.extensions, code: error.extensions.code ?? "GRAPHQL_PARSE_FAILED" },
    }),
  ];
}

/** graphql-ws on the HTTP server's port and Yoga's path, through Yoga's envelop (same schema, context, errors). */
export function attachGraphQLWebSocket(server: Server, yoga: Yoga, verifyToken: TokenVerifier): { dispose(): void | Promise<void> } {
  const wsServer = new WebSocketServer({ server, path: yoga.graphqlEndpoint, maxPayload: MAX_REQUEST_BYTES });
  return useServer(
    {
      execute: (args) => (args.rootValue as Executors).execute(args),
      subscribe: (args) => (args.rootValue as Executors).subscribe(args),
      // A missing, bad, expired or oversized token closes the socket with 4403 Forbidden before any operation runs;
      // an accepted one closes it with 4403 when it expires.
      onConnect: async (ctx) => {
        if (ctx.connectionParams && Buffer.byteLength(JSON.stringify(ctx.connectionParams)) > MAX_CONNECTION_PARAMS_BYTES) return false;
        const auth = await authenticate(verifyToken, ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization);
        if (!("viewer" in auth)) return false;
        if (auth.viewer.expiresAt !== undefined) closeAtExpiry(ctx.extra.socket, auth.viewer.expiresAt);
        return true;
      },
      onSubscribe: async (ctx, _id, params) => {
        const request = ctx.extra.request as RequestWithId;
        request.id ??= requestIdOf(request);
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: request,
          socket: ctx.extra.socket,
          params,
        });
        let document;
        try {
          document = parse(params.query);
        } catch (error) {
          return parseFailure(error);
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
        return {
          schema,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe } satisfies Executors,
        };
      },
    },
    wsServer,
  );
}
