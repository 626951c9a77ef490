import type { Dependencies } from "../graphql/context.js";
import type { RouteHandler } from "../server/http.js";
import { cachedTokenVerifier } from "./cached-token-verifier.js";
import { forwardAuthRoute } from "./forward-auth-route.js";
import { keysVerifyRoute } from "./keys-verify-route.js";
import { openApiRoute } from "./openapi.js";

/** The HTTP endpoints for API gateways, by path (see docs/gateways.md). */
export function gatewayRoutes(services: Dependencies): Record<string, RouteHandler> {
  const gateway = { ...services, verifyToken: cachedTokenVerifier(services.verifyToken) };
  return {
    "/v1/keys.verify": keysVerifyRoute(gateway),
    "/v1/auth": forwardAuthRoute(gateway),
    "/openapi.json": openApiRoute(),
  };
}
