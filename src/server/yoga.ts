import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createYoga, type YogaInitialContext, type YogaServerInstance } from "graphql-yoga";
import { useDisableIntrospection } from "@graphql-yoga/plugin-disable-introspection";
import { authenticate } from "../auth/authenticate.js";
import type { Config } from "../config.js";
import type { Context, Dependencies } from "../graphql/context.js";
import { createErrorMasker } from "../graphql/errors.js";
import { useQueryLimits } from "../graphql/plugins/armor.js";
import { useCodedErrors } from "../graphql/plugins/coded-errors.js";
import { useSubscriptionsEndWithToken } from "../graphql/plugins/token-expiry.js";
import { schema } from "../graphql/schema.js";
import { useCsrfPrevention, useJsonPostsOnly } from "./browser-safety.js";
import { corsFor, useVaryOnOrigin } from "./cors.js";
import { useObservability } from "./observability-plugin.js";
import { useReadYourWrites } from "./read-your-writes.js";

export type RequestWithId = IncomingMessage & { id?: string };
export type ServerContext = { req: RequestWithId; res?: ServerResponse };
type InitialContext = YogaInitialContext & ServerContext & { connectionParams?: Record<string, unknown> };

export type Yoga = YogaServerInstance<ServerContext, Context>;

/** The largest request body over HTTP, and the largest graphql-ws message. */
export const MAX_REQUEST_BYTES = 1024 * 1024;

export function createYogaServer(config: Config, services: Dependencies): Yoga {
  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: "/graphql",
    landingPage: false,
    logging: false,
    maskedErrors: { maskError: createErrorMasker(services.logger) },
    graphiql: config.graphiql ? { subscriptionsProtocol: "WS", title: "keyledger" } : false,
    cors: corsFor(config.corsOrigins),
    maxRequestBodySize: MAX_REQUEST_BYTES,
    plugins: [
      useVaryOnOrigin(config.corsOrigins),
      useJsonPostsOnly(),
      useCsrfPrevention(),
      // Depth, alias, directive, token and cost limits, with codes.
      useQueryLimits(),
      useCodedErrors(),
      useSubscriptionsEndWithToken(),
      ...(config.introspection ? [] : [useDisableIntrospection()]),
      useObservability(),
      useReadYourWrites(() => services.store.caughtUp()),
    ],
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
