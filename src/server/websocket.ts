import type { Server } from "node:http";
import type { execute as graphqlExecute, subscribe as graphqlSubscribe } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import { authenticate } from "../auth/authenticate.js";
import type { TokenVerifier } from "../auth/tokens.js";
import { requestIdOf } from "./http.js";
import type { RequestWithId, Yoga } from "./yoga.js";

type Executors = { execute: typeof graphqlExecute; subscribe: typeof graphqlSubscribe };

/** graphql-ws on the HTTP server's port and Yoga's path, through Yoga's envelop (same schema, context, errors). */
export function attachGraphQLWebSocket(server: Server, yoga: Yoga, verifyToken: TokenVerifier): { dispose(): void | Promise<void> } {
  const wsServer = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
  return useServer(
    {
      execute: (args) => (args.rootValue as Executors).execute(args),
      subscribe: (args) => (args.rootValue as Executors).subscribe(args),
      // A missing or bad token closes the socket with 4403 Forbidden before any operation runs.
      onConnect: async (ctx) => {
        const auth = await authenticate(verifyToken, ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization);
        return "viewer" in auth;
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
        const document = parse(params.query);
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
