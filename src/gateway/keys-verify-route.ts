import type { Dependencies } from "../graphql/context.js";
import { sendJson, type RouteHandler } from "../server/http.js";
import { MAX_BODY_BYTES, VerifyKeyRequest } from "./contract.js";
import { sendVerifyFailure } from "./failures.js";
import { authenticateGateway } from "./gateway-auth.js";
import { readBody } from "./read-body.js";
import { firstIssue, sendError } from "./replies.js";
import { setVerificationHeaders, verificationBody } from "./verification-view.js";

/**
 * POST /v1/keys.verify: GraphQL's verifyApiKey as plain JSON. Every verdict is a 200 with `valid`
 * and `code`, with the rate-limit and credits headers of forward-auth; only requests that could
 * not be judged get another status (a rate limit the key does not have is bad input: 400).
 */
export function keysVerifyRoute(services: Pick<Dependencies, "verifier" | "verifyToken" | "logger" | "clock">): RouteHandler {
  return async (req, res) => {
    const requestId = req.id!;
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      return sendError(res, 405, "BAD_USER_INPUT", "Use POST with a JSON body", "method");
    }
    const auth = await authenticateGateway(services.verifyToken, req.headers.authorization, requestId);
    if ("message" in auth) return sendError(res, 401, "UNAUTHENTICATED", auth.message);

    const raw = await readBody(req, MAX_BODY_BYTES);
    if (!raw) {
      res.setHeader("connection", "close");
      return sendError(res, 413, "BAD_USER_INPUT", `The body must be at most ${MAX_BODY_BYTES} bytes`, "body");
    }
    let json: unknown;
    try {
      json = JSON.parse(raw.toString("utf8"));
    } catch {
      return sendError(res, 400, "BAD_USER_INPUT", "The body must be a JSON object", "body");
    }
    const input = VerifyKeyRequest.safeParse(json);
    if (!input.success) {
      const { field, message } = firstIssue(input.error, "body");
      return sendError(res, 400, "BAD_USER_INPUT", message, field);
    }

    try {
      const { key, service, permissions, cost, ratelimits } = input.data;
      const verification = await services.verifier.verify(auth.caller, key, service, {
        permissions: permissions ?? undefined,
        cost: cost ?? undefined,
        ratelimits: ratelimits ?? undefined,
      });
      setVerificationHeaders(res, verification, ratelimits, services.clock().getTime());
      sendJson(res, 200, verificationBody(verification));
    } catch (error) {
      sendVerifyFailure(res, error, services.logger, requestId);
    }
  };
}
