import type { TypedDocumentString } from "../generated/graphql";
import { currentToken, signOut } from "../auth/session";

/** A GraphQL error as the server describes it: a message, a code and, for bad input, the field. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly field?: string,
    /** A CONFLICT because the key moved past the version the page read (the others are refusals with their own reason). */
    readonly stale = false,
  ) {
    super(message);
  }
}

interface GraphQLResponse<R> {
  data?: R | null;
  errors?: { message: string; extensions?: { code?: string; field?: string; expectedVersion?: number } }[];
}

/** Sends one typed operation over HTTP with the signed-in user's token. */
export async function request<R, V>(document: TypedDocumentString<R, V>, ...[variables]: V extends Record<string, never> ? [] : [V]): Promise<R> {
  const token = currentToken();
  const response = await fetch("/graphql", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/graphql-response+json, application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query: document.toString(), variables }),
    cache: "no-store",
  });
  let body: GraphQLResponse<R>;
  try {
    body = (await response.json()) as GraphQLResponse<R>;
  } catch {
    throw new ApiError(`The server answered ${response.status}`, "SERVICE_UNAVAILABLE");
  }
  const first = body.errors?.[0];
  if (first) {
    const code = first.extensions?.code ?? "INTERNAL_SERVER_ERROR";
    if (code === "UNAUTHENTICATED") signOut();
    throw new ApiError(first.message, code, first.extensions?.field, first.extensions?.expectedVersion !== undefined);
  }
  if (!body.data) throw new ApiError("The server sent no data", "INTERNAL_SERVER_ERROR");
  return body.data;
}

export const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));
