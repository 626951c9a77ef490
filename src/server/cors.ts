import type { Plugin, YogaServerOptions } from "graphql-yoga";

type CorsOption = YogaServerOptions<object, object>["cors"];

/** Request headers a cross-origin page may send (auth is a bearer header, so no cookies and no credentials mode). */
const ALLOWED_HEADERS = ["authorization", "content-type", "accept", "x-request-id", "x-graphql-yoga-csrf"];

/**
 * CORS for the origins in CORS_ORIGINS only: an allowed origin is echoed, without credentials; any other origin
 * (and every origin when the list is empty) gets no CORS headers, so browsers keep its pages from reading answers.
 */
export function corsFor(origins: readonly string[]): CorsOption {
  if (origins.length === 0) return false;
  const allowed = new Set(origins);
  return (request: Request) => {
    const origin = request.headers.get("origin")?.toLowerCase();
    if (!origin || !allowed.has(origin)) return false;
    return {
      origin,
      credentials: false,
      methods: ["GET", "POST", "OPTIONS"],
      allowedHeaders: ALLOWED_HEADERS,
      exposedHeaders: ["x-request-id"],
      maxAge: 600,
    };
  };
}

/** Answers differ by Origin once an allow-list is set: tell caches so. */
export function useVaryOnOrigin(origins: readonly string[]): Plugin {
  if (origins.length === 0) return {};
  return {
    onResponse({ response }) {
      response.headers.append("vary", "Origin");
    },
  };
}
