import { z } from "zod";
import { sendJson, type RouteHandler } from "../server/http.js";
import { documentedSchemas, MAX_BODY_BYTES, MISSING_KEY } from "./contract.js";
import { FORWARD_AUTH_STATUS } from "./forward-auth-route.js";
import { GATEWAY_TOKEN_HEADER } from "./gateway-auth.js";

type JsonObject = Record<string, unknown>;

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const json = (schema: JsonObject, description: string) => ({ description, content: { "application/json": { schema } } });
const error = (description: string) => json(ref("ErrorResponse"), description);
const header = (description: string, schema: JsonObject = { type: "string" }) => ({ description, schema, required: true });
const optionalHeader = (description: string) => ({ description, schema: { type: "integer", minimum: 0 }, required: false });

/** The zod schemas as OpenAPI 3.1 components (JSON Schema 2020-12), referring to each other by component path. */
function componentSchemas(): Record<string, JsonObject> {
  const { schemas } = z.toJSONSchema(documentedSchemas, { target: "draft-2020-12", uri: (id) => `#/components/schemas/${id}` });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, schema]) => {
      const { $schema: _schema, $id: _id, ...rest } = schema as JsonObject;
      return [id, rest];
    }),
  );
}

const codesWith = (status: number) =>
  Object.entries(FORWARD_AUTH_STATUS)
    .filter(([, s]) => s === status)
    .map(([code]) => code);

const keyHeaders = {
  "X-Keyledger-Code": header("VALID"),
  "X-Keyledger-Key-Id": header("The key's global ID (GraphQL ApiKey.id)"),
  "X-Keyledger-Owner-Id": header("The key owner's user id, percent-encoded if it has characters outside visible ASCII"),
  "X-Keyledger-Service": header("The service verified for", ref("Service")),
};
const codeHeader = { "X-Keyledger-Code": header("The verification code or request error code") };

/** Sent with a verdict for a key whose rate limits were applied, or that has credits. */
const limitHeaders = {
  "RateLimit-Limit": optionalHeader("IETF draft: the limit of the rate limit that refused the request, else of the most restrictive one applied (lowest remaining)"),
  "RateLimit-Remaining": optionalHeader("IETF draft: cost that limit still admits"),
  "RateLimit-Reset": optionalHeader("IETF draft: seconds until the oldest cost counted by that limit leaves its window"),
  "X-Keyledger-Credits-Remaining": optionalHeader("The key's credits left; only for keys with credits"),
};
const retryAfter = { "Retry-After": optionalHeader("With RATE_LIMITED: seconds until the refusing rate limit admits again (at least 1)") };

function forwardAuthOperation(method: string) {
  return {
    operationId: `forwardAuth${method[0]!.toUpperCase()}${method.slice(1)}`,
    tags: ["forward-auth"],
    summary: "May this request through? (nginx auth_request, Traefik ForwardAuth, Envoy ext_authz)",
    description:
      "Any method: proxies send the original request's method and headers. The customer's key comes from X-API-Key, " +
      "else from `Authorization: Bearer klp_…`. The same verification as GraphQL's verifyApiKey: a 200 is recorded as one KeyUsed event.",
    security: [{ gatewayToken: [] }],
    parameters: [
      { name: "service", in: "query", required: true, schema: ref("Service"), description: "The service the proxy guards" },
      {
        name: "permissions",
        in: "query",
        required: false,
        schema: { type: "string" },
        description: "Comma-separated permissions the request needs (each 1 to 64 of a-z 0-9 _ . : * -, at most 100); the key must hold each, else 403 INSUFFICIENT_PERMISSIONS. Empty: none",
      },
      {
        name: "cost",
        in: "query",
        required: false,
        schema: { type: "integer", minimum: 0, maximum: 1000, default: 1 },
        description: "Credits to spend when the key has credits; 0 checks without spending",
      },
      { name: "X-API-Key", in: "header", required: false, schema: { type: "string", maxLength: 256 }, description: "The customer's key" },
    ],
    responses: {
      "200": {
        description: "The key is valid for the service; pass the X-Keyledger-Key-Id, -Owner-Id and -Service headers upstream (overwriting any the client sent).",
        headers: { ...keyHeaders, ...limitHeaders },
      },
      "400": { ...error("Bad input: the field names the query parameter or header (e.g. a key with control characters or over 256 characters)"), headers: codeHeader },
      "401": {
        ...error(`No usable key (${[MISSING_KEY, ...codesWith(401)].join(", ")}), or a missing or bad gateway token (UNAUTHENTICATED)`),
        headers: { ...codeHeader, ...limitHeaders },
      },
      "403": {
        ...error(`The key may not be used here (${codesWith(403).join(", ")}), or the gateway token lacks the gateway role (FORBIDDEN)`),
        headers: { ...codeHeader, ...limitHeaders },
      },
      "429": {
        ...error(`The key may be used again later: a rate limit refused it (RATE_LIMITED, with Retry-After) or its credits are spent (USAGE_EXCEEDED)`),
        headers: { ...codeHeader, ...retryAfter, ...limitHeaders },
      },
      "503": { ...error("The database is unavailable (SERVICE_UNAVAILABLE); nothing was recorded"), headers: codeHeader },
    },
  };
}

function buildDocument(): JsonObject {
  return {
    openapi: "3.1.0",
    info: {
      title: "keyledger gateway API",
      version: "1",
      description: "Key verification over plain HTTP for API gateways. GraphQL (/graphql) is described by its own schema.",
    },
    paths: {
      "/v1/keys.verify": {
        post: {
          operationId: "verifyKey",
          tags: ["verify"],
          summary: "Verify a key (GraphQL's verifyApiKey as JSON)",
          description: "Every verdict is a 200 with `valid` and `code`; VALID is recorded as one KeyUsed event (spending credits and counting against rate limits), a refusal of a known key as one KeyDenied event, before the answer.",
          security: [{ gatewayBearer: [] }],
          requestBody: { required: true, content: { "application/json": { schema: ref("VerifyKeyRequest") } } },
          responses: {
            "200": { ...json(ref("VerifyKeyResponse"), "The verdict"), headers: { ...retryAfter, ...limitHeaders } },
            "400": error(
              "Bad input: body not JSON, wrong types, unknown fields, a key over 256 characters, a cost outside 0..1000, a rate limit the key does not have; `field` names it",
            ),
            "401": error("Missing or bad gateway token (UNAUTHENTICATED)"),
            "403": error("The token has neither the gateway nor the admin role (FORBIDDEN)"),
            "405": error("Not POST"),
            "413": error(`Body over ${MAX_BODY_BYTES} bytes`),
            "503": error("The database is unavailable (SERVICE_UNAVAILABLE); nothing was recorded"),
          },
        },
      },
      "/v1/auth": Object.fromEntries(["get", "head", "post", "put", "patch", "delete", "options"].map((m) => [m, forwardAuthOperation(m)])),
    },
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        gatewayBearer: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "A keyledger JWT with the gateway (or admin) role" },
        gatewayToken: {
          type: "apiKey",
          in: "header",
          name: GATEWAY_TOKEN_HEADER,
          description: "The gateway's keyledger JWT (gateway role), bare, set statically in the proxy's configuration",
        },
      },
    },
  };
}

/** GET /openapi.json: the document above, built once. */
export function openApiRoute(): RouteHandler {
  const body = buildDocument();
  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      return sendJson(res, 405, { error: { code: "BAD_USER_INPUT", field: "method", message: "Use GET" } });
    }
    res.setHeader("cache-control", "public, max-age=300");
    sendJson(res, 200, body);
  };
}
