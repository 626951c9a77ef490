import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createYoga, type YogaInitialContext, type YogaServerInstance } from "graphql-yoga";
import { useDisableIntrospection } from "@graphql-yoga/plugin-disable-introspection";
import { EnvelopArmorPlugin } from "@escape.tech/graphql-armor";
import { authenticate } from "../auth/setup.js";
import type { Config } from "../config.js";
import type { Context, Services } from "../graphql/context.js";
import { createErrorMasker } from "../graphql/errors.js";
import { schema } from "../graphql/schema.js";
import { useObservability } from "./observability-plugin.js";

export type RequestWithId = IncomingMessage & { id?: string };
export type ServerContext = { req: RequestWithId; res?: ServerResponse };
type InitialContext = YogaInitialContext & ServerContext & { connectionParams?: Record<string, unknown> };

export type Yoga = YogaServerInstance<ServerContext, Context>;

export function createYogaServer(config: Config, services: Services): Yoga {
  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: "/graphql",
    landingPage: false,
    logging: false,
    maskedErrors: { maskError: createErrorMasker(services.logger) },
    graphiql: config.graphiql ? { subscriptionsProtocol: "WS", title: "keyledger" } : false,
    // Depth, alias, directive, token and cost limits, and no field suggestions that map the schema.
    plugins: [EnvelopArmorPlugin({ maxDepth: { n: 8 } }), ...(config.introspection ? [] : [useDisableIntrospection()]), useObservability()],
    context: async ({ req, request, connectionParams }: InitialContext): Promise<Context> => ({
      ...services,
      requestId: req.id ?? randomUUID(),
      // graphql-ws operations carry the token in connectionParams; HTTP and SSE in the header.
      auth: await authenticate(
        services.verifyToken,
        connectionParams || !request
          ? (connectionParams?.authorization ?? connectionParams?.Authorization)
          : request.headers.get("authorization"),
      ),
    }),
  });
}
