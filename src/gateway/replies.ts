import type { ServerResponse } from "node:http";
import type { z } from "zod";
import { sendJson } from "../server/http.js";
import type { ErrorResponseBody } from "./contract.js";

export const CODE_HEADER = "x-keyledger-code";

/** An error in the documented shape, with its code also in X-Keyledger-Code for proxies that only see headers. */
export function sendError(res: ServerResponse, status: number, code: string, message: string, field?: string): void {
  res.setHeader(CODE_HEADER, code);
  const body: ErrorResponseBody = { error: field === undefined ? { code, message } : { code, field, message } };
  sendJson(res, status, body);
}

/** A path as the domain writes fields: ratelimits[0].name. */
const fieldName = (path: readonly PropertyKey[]) =>
  path.map((part, i) => (typeof part === "number" ? `[${part}]` : `${i > 0 ? "." : ""}${String(part)}`)).join("");

/** The first problem zod found, as the field it names and a message. */
export function firstIssue(error: z.ZodError, fallbackField: string): { field: string; message: string } {
  const issue = error.issues[0]!;
  if (issue.code === "unrecognized_keys") {
    return { field: fieldName([...issue.path, issue.keys[0]!]), message: `Unknown field ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}` };
  }
  const field = fieldName(issue.path) || fallbackField;
  return { field, message: `${field}: ${issue.message}` };
}
