import { expect } from "vitest";
import { ClientError, GraphQLClient } from "graphql-request";
import { signToken } from "../../src/auth/tokens.js";
import type { Role } from "../../src/auth/viewer.js";
import { TEST_JWT_SECRET } from "./server.js";

export async function tokenFor(sub: string, roles: Role[] = ["owner"], secret = TEST_JWT_SECRET): Promise<string> {
  return signToken(secret, { sub, roles, expiresIn: "10m" });
}

export async function clientFor(url: string, sub: string, roles: Role[] = ["owner"]): Promise<GraphQLClient> {
  return new GraphQLClient(url, { headers: { authorization: `Bearer ${await tokenFor(sub, roles)}` } });
}

export function clientWithHeader(url: string, authorization?: string): GraphQLClient {
  return new GraphQLClient(url, { headers: authorization === undefined ? {} : { authorization } });
}

/** Awaits a request that must fail, and returns its first GraphQL error. */
export async function graphQLErrorOf(request: Promise<unknown>): Promise<{ message: string; extensions: Record<string, unknown> }> {
  try {
    await request;
  } catch (error) {
    expect(error).toBeInstanceOf(ClientError);
    const first = (error as ClientError).response.errors?.[0];
    expect(first).toBeDefined();
    return first as unknown as { message: string; extensions: Record<string, unknown> };
  }
  throw new Error("expected the request to fail");
}

export async function expectCode(request: Promise<unknown>, code: string, field?: string): Promise<void> {
  const error = await graphQLErrorOf(request);
  expect(error.extensions.code, error.message).toBe(code);
  if (field) expect(error.extensions.field).toBe(field);
}
