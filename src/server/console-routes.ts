import { existsSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import sirv from "sirv";

/** Answers a request and returns true, or returns false to let the next handler (Yoga) have it. */
export type FallbackHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

const LONG_CACHE = "public, max-age=31536000, immutable";
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self' 'unsafe-inline'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** The console's routes (src/console/App.tsx): a link to any of them opens that page. */
const CONSOLE_PAGES = /^\/(?:keys(?:\/[a-z-]+)?|usage|audit|settings)?\/?$/;

/** dist/console of the package this file belongs to, whether run from src/ or from a compiled copy. */
export function defaultConsoleDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, "dist", "console");
}

function setHeaders(res: ServerResponse, pathname: string): void {
  res.setHeader("x-content-type-options", "nosniff");
  if (pathname.startsWith("/assets/")) {
    res.setHeader("cache-control", LONG_CACHE);
    return;
  }
  // index.html names the current hashed assets, so it is revalidated on every load.
  res.setHeader("cache-control", "no-cache");
  res.setHeader("content-security-policy", CONTENT_SECURITY_POLICY);
  res.setHeader("referrer-policy", "no-referrer");
}

function notFound(res: ServerResponse, text: string, status = 404): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
  res.end(text);
}

/**
 * The console at /: hashed files under /assets/ with a year's cache, and index.html for the
 * console's pages (so /keys/sms opens that tab). Every other path and method falls through,
 * so /graphql is untouched and a missing route still answers 404 as before.
 */
export function consoleRoutes(dir = defaultConsoleDir()): FallbackHandler {
  const built = existsSync(join(dir, "index.html"));
  // Files are looked up on each request (sirv's `dev`; the headers are still ours): a console rebuilt
  // while the server runs is served, and a file a rebuild removed answers 404. With the file list
  // read once at start, such a request failed its read stream, which ended the process.
  const serve = built ? sirv(dir, { dev: true, etag: true, single: true, gzip: true, brotli: true, setHeaders }) : undefined;
  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const path = req.url?.split("?")[0] ?? "/";
    if (path === "/graphql") return false;
    if (!path.startsWith("/assets/") && !CONSOLE_PAGES.test(path)) return false;
    if (!serve) {
      notFound(res, "The console is not built: run `npm run build:console`.", 503);
      return true;
    }
    serve(req, res, () => notFound(res, "Not found"));
    return true;
  };
}
