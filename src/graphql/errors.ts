import { PothosValidationError } from "@pothos/core";
import { GraphQLError } from "graphql";
import { AuthenticationError, ForbiddenError } from "../auth/errors.js";
import { isDatabaseUnavailable } from "../db/database.js";
import { DomainRejection } from "../domain/errors.js";
import { ConcurrencyError } from "../eventstore/errors.js";
import type { Logger } from "../server/logger.js";

export type ErrorCode =
  | "BAD_USER_INPUT"
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "CONFLICT"
  | "RATE_LIMITED"
  | "SUBSCRIPTION_OVERFLOW"
  | "SERVICE_UNAVAILABLE"
  | "INTERNAL_SERVER_ERROR";

export function graphQLError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions } });
}

export const notFound = () => graphQLError("NOT_FOUND", "No such key");
export const badInput = (field: string, message: string) => graphQLError("BAD_USER_INPUT", message, { field });

/** Our typed failures as GraphQL errors with `extensions.code`; undefined for anything unexpected. */
export function translateError(error: unknown): GraphQLError | undefined {
  // Pothos's argument errors are GraphQLErrors without a code: check them first.
  if (error instanceof PothosValidationError) {
    if (/global ID|is not of type/.test(error.message)) return notFound();
    const field = /Argument "(\w+)"/.exec(error.message)?.[1] ?? (/cursor/i.test(error.message) ? "after" : "input");
    return badInput(field, error.message);
  }
  if (error instanceof GraphQLError) return error;
  if (error instanceof AuthenticationError) return graphQLError("UNAUTHENTICATED", error.message);
  if (error instanceof ForbiddenError) return graphQLError("FORBIDDEN", error.message);
  if (error instanceof ConcurrencyError) {
    return graphQLError("CONFLICT", `The key was changed meanwhile: it is at version ${error.actualVersion ?? "newer"}, not ${error.expectedVersion}. Reload and try again.`, {
      expectedVersion: error.expectedVersion,
      actualVersion: error.actualVersion,
    });
  }
  if (error instanceof DomainRejection) {
    const domain = error.error;
    if (domain.kind === "invalid") return badInput(domain.field, domain.message);
    if (domain.kind === "not_found") return notFound();
    return graphQLError("CONFLICT", domain.message);
  }
  if (isDatabaseUnavailable(error)) {
    return graphQLError("SERVICE_UNAVAILABLE", "The database is unavailable; nothing was changed. Retry later.");
  }
  return undefined;
}

/** Yoga's maskError: typed errors pass with their code; anything else is logged and masked. */
export function createErrorMasker(logger: Logger) {
  return (error: unknown): Error => {
    const located = error instanceof GraphQLError ? error : undefined;
    const original = located?.originalError ?? error;
    const translated = translateError(original);
    if (translated === error) return located!;
    if (!translated || translated.extensions.code === "SERVICE_UNAVAILABLE") {
      logger.error({ err: original, path: located?.path }, "resolver failed");
    }
    const result = translated ?? graphQLError("INTERNAL_SERVER_ERROR", "Internal server error");
    return new GraphQLError(result.message, { nodes: located?.nodes, path: located?.path, extensions: result.extensions });
  };
}
