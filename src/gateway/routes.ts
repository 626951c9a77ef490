import type { Dependencies } from "../graphql/context.js";
import type { RouteHandler } from "../server/http.js";
import { forwardAuthRoute } from "./forward-auth-route.js";
import { keysVerifyRoute } from "./keys-verify-route.js";
import { openApiRoute } from "./openapi.js";

/** The HTTP endpoints for API gateways, by path (see docs/gateways.md). */
export function gatewayRoutes(services: Dependencies): Record<string, RouteHandler> {
  return {
    "/v1/keys.verify": keysVerifyRoute(services),
    "/v1/auth": forwardAuthRoute(services),
    "/openapi.json": openApiRoute(),
  };
}
