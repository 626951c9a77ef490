import type { ServerResponse } from "node:http";
import { ForbiddenError } from "../auth/errors.js";
import { DatabaseUnavailableError } from "../db/database.js";
import { DomainRejection } from "../domain/errors.js";
import type { Logger } from "../server/logger.js";
import { sendError } from "./replies.js";

/** What a failed `verifier.verify` call becomes on the HTTP API: typed, and never a stack trace. */
export function sendVerifyFailure(res: ServerResponse, error: unknown, logger: Logger, requestId: string): void {
  if (error instanceof ForbiddenError) return sendError(res, 403, "FORBIDDEN", error.message);
  // The request named a rate limit the key does not have (or one twice): the caller's input, nothing recorded.
  if (error instanceof DomainRejection && error.error.kind === "invalid") return sendError(res, 400, "BAD_USER_INPUT", error.message, error.error.field);
  if (error instanceof DatabaseUnavailableError) {
    logger.error({ err: error, requestId }, "verification failed: database unavailable");
    return sendError(res, 503, "SERVICE_UNAVAILABLE", "The database is unavailable; nothing was recorded. Retry later.");
  }
  logger.error({ err: error, requestId }, "verification failed");
  sendError(res, 500, "INTERNAL_SERVER_ERROR", "Internal server error");
}
