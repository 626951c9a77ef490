import { useCSRFPrevention } from "@graphql-yoga/plugin-csrf-prevention";
import { createGraphQLError, type Plugin } from "graphql-yoga";
import { GraphQLError } from "graphql";

/**
 * POST bodies that execute: JSON (Yoga also parses the older `application/graphql+json`). Browsers preflight these
 * cross-origin, so no form or `text/plain` POST can run an operation. `application/graphql-response+json` is the
 * response type a client asks for in Accept; Yoga answers it either way.
 */
export const EXECUTABLE_CONTENT_TYPES = ["application/json", "application/graphql+json"];

/** Any of these headers makes a browser preflight the request (Yoga's CSRF prevention). */
export const CSRF_HEADERS = ["x-graphql-yoga-csrf", "authorization"];

const mediaType = (contentType: string | null) => (contentType ?? "").split(";")[0]!.trim().toLowerCase();

/** Only JSON POSTs run: forms (urlencoded, multipart), `text/plain` and `application/graphql` answer 415. */
export function useJsonPostsOnly(): Plugin {
  return {
    onRequestParse({ request }) {
      if (request.method !== "POST" || EXECUTABLE_CONTENT_TYPES.includes(mediaType(request.headers.get("content-type")))) return;
      throw createGraphQLError(`POST requests must be application/json (got ${mediaType(request.headers.get("content-type")) || "no content type"})`, {
        extensions: { code: "BAD_REQUEST", http: { status: 415 } },
      });
    },
  };
}

/**
 * Yoga's CSRF prevention: a request a browser would send without a preflight (a GET, a form POST) must carry a
 * header that forces one. A bearer `Authorization` header does, so authenticated GETs work as before.
 */
export function useCsrfPrevention(): Plugin {
  const csrf = useCSRFPrevention({ requestHeaders: CSRF_HEADERS });
  return {
    onRequestParse(payload) {
      try {
        return csrf.onRequestParse?.(payload);
      } catch (error) {
        if (!(error instanceof GraphQLError)) throw error;
        throw createGraphQLError(`${error.message}: send an Authorization or x-graphql-yoga-csrf header`, {
          extensions: { ...error.extensions, code: "BAD_REQUEST" },
        });
      }
    },
  };
}
