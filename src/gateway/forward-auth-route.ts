import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import type { Dependencies } from "../graphql/context.js";
import type { RouteHandler } from "../server/http.js";
import { ForwardAuthQuery, MAX_KEY_LENGTH, MISSING_KEY } from "./contract.js";
import { sendVerifyFailure } from "./failures.js";
import { authenticateGateway, gatewayTokenAsAuthorization, GATEWAY_TOKEN_HEADER } from "./gateway-auth.js";
import { CODE_HEADER, firstIssue, sendError } from "./replies.js";
import { globalKeyId, setVerificationHeaders } from "./verification-view.js";

/**
 * The HTTP status a proxy acts on, per verification code: 401 when the caller has no usable key,
 * 403 when the key is known but may not be used here, 429 when it may be used again later.
 * Codes the verifier does not answer yet are listed so that the mapping is decided here, once;
 * an unlisted code denies with 403.
 */
export const FORWARD_AUTH_STATUS: Readonly<Record<string, number>> = {
  VALID: 200,
  NOT_FOUND: 401,
  EXPIRED: 401,
  REVOKED: 401,
  DISABLED: 403,
  WRONG_SERVICE: 403,
  INSUFFICIENT_PERMISSIONS: 403,
  RATE_LIMITED: 429,
  USAGE_EXCEEDED: 429,
};

const DENIAL_MESSAGES: Record<number, string> = {
  401: "A valid API key is required",
  403: "This API key may not be used here",
  429: "Too many requests for this API key",
};

type KeySource = { key: string } | { missing: true } | { field: string; message: string };

/** Visible ASCII only: keys are base62 and underscores; anything else in a key header is bad input. */
const VISIBLE_ASCII = /^[\x20-\x7e]*$/;

function checkedKey(field: string, value: string): KeySource {
  if (!VISIBLE_ASCII.test(value)) return { field, message: `${field} contains control or non-ASCII characters` };
  if (value.length > MAX_KEY_LENGTH) return { field, message: `The key in ${field} is longer than ${MAX_KEY_LENGTH} characters` };
  return { key: value };
}

/** The customer's key: X-API-Key, else the token of `Authorization: Bearer …` (other schemes are not keys). */
function keyFrom(headers: IncomingHttpHeaders): KeySource {
  const apiKey = headers["x-api-key"];
  if (typeof apiKey === "string" && apiKey !== "") return checkedKey("X-API-Key", apiKey);
  const bearer = /^Bearer[ \t]+(.*)$/i.exec(headers.authorization ?? "");
  return bearer ? checkedKey("Authorization", bearer[1]!.trim()) : { missing: true };
}

/** Query parameters as an object; a repeated parameter is bad input rather than a silent choice. */
function queryOf(url: string | undefined): { query: Record<string, string> } | { field: string; message: string } {
  const params = new URL(url ?? "/", "http://localhost").searchParams;
  const query: Record<string, string> = {};
  for (const [name, value] of params) {
    if (Object.hasOwn(query, name)) return { field: name, message: `${name} is given more than once` };
    query[name] = value;
  }
  return { query };
}

/** Header values must be visible ASCII; owner ids come from JWT subjects, which may hold anything. */
const headerValue = (value: string) => (VISIBLE_ASCII.test(value) ? value : encodeURIComponent(value));

function deny(res: ServerResponse, code: string, status: number): void {
  if (status === 401) res.setHeader("www-authenticate", 'Bearer realm="keyledger"');
  sendError(res, status, code, DENIAL_MESSAGES[status] ?? DENIAL_MESSAGES[403]!);
}

/**
 * Forward-auth for nginx auth_request, Traefik ForwardAuth and Envoy ext_authz (HTTP): any method,
 * `?service=SMS` (optionally `&permissions=a,b&cost=2`), the original request's headers. 200 with
 * the key's id, owner and service as headers for the proxy to pass upstream; otherwise the status
 * the verification code maps to. Every answer carries X-Keyledger-Code, and the rate-limit and
 * credits headers when the key has them; a denial's body says nothing more than the code.
 */
export function forwardAuthRoute(services: Pick<Dependencies, "verifier" | "verifyToken" | "logger" | "clock">): RouteHandler {
  return async (req, res) => {
    const requestId = req.id!;
    const auth = await authenticateGateway(
      services.verifyToken,
      gatewayTokenAsAuthorization(req.headers[GATEWAY_TOKEN_HEADER.toLowerCase()]),
      requestId,
      `send the gateway's token (the bare JWT) in ${GATEWAY_TOKEN_HEADER}; Authorization carries the customer's key here`,
    );
    if ("message" in auth) return sendError(res, 401, "UNAUTHENTICATED", `Gateway credential (${GATEWAY_TOKEN_HEADER}): ${auth.message}`);

    const params = queryOf(req.url);
    if ("field" in params) return sendError(res, 400, "BAD_USER_INPUT", params.message, params.field);
    const parsed = ForwardAuthQuery.safeParse(params.query);
    if (!parsed.success) {
      const { field, message } = firstIssue(parsed.error, "service");
      // The query parameter itself (permissions, not permissions[2]): that is what a proxy's configuration sets.
      return sendError(res, 400, "BAD_USER_INPUT", message, field.split(/[.[]/)[0]);
    }
    const source = keyFrom(req.headers);
    if ("field" in source) return sendError(res, 400, "BAD_USER_INPUT", source.message, source.field);
    if ("missing" in source) return deny(res, MISSING_KEY, 401);

    let verification;
    try {
      const { service, permissions, cost } = parsed.data;
      verification = await services.verifier.verify(auth.caller, source.key, service, { permissions, cost });
    } catch (error) {
      return sendVerifyFailure(res, error, services.logger, requestId);
    }
    // Delta seconds on the clock the verdict used (a test injects its own).
    setVerificationHeaders(res, verification, undefined, services.clock().getTime());
    const status = FORWARD_AUTH_STATUS[verification.code] ?? 403;
    if (status !== 200) return deny(res, verification.code, status);
    res.writeHead(200, {
      [CODE_HEADER]: verification.code,
      "x-keyledger-key-id": globalKeyId(verification.keyId!),
      "x-keyledger-owner-id": headerValue(verification.ownerId!),
      "x-keyledger-service": parsed.data.service,
      "content-length": "0",
    });
    res.end();
  };
}
