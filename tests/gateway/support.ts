import { expect } from "vitest";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { GraphQLClient } from "graphql-request";
import type { RunningServer } from "../../src/server/app.js";
import { CreateKeyDocument, RevokeKeyDocument, SetStatusDocument, type Service } from "../generated/graphql.js";

/** The server's origin (http://127.0.0.1:port) from its GraphQL URL. */
export const originOf = (server: RunningServer) => new URL(server.url.replace("localhost", "127.0.0.1")).origin;

export async function countKeyUsed(server: RunningServer): Promise<number> {
  const { rows } = await server.services.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE type = 'KeyUsed'`);
  return rows[0]!.n;
}

/** Keys of every status the verifier tells apart, created through GraphQL by `owner`. */
export async function keysInEveryState(owner: GraphQLClient, service: Service = "SMS") {
  const create = async (name: string) => (await owner.request(CreateKeyDocument, { input: { service, name } })).createApiKey;
  const active = await create("active");
  const disabled = await create("disabled");
  await owner.request(SetStatusDocument, { input: { id: disabled.apiKey.id, status: "INACTIVE" } });
  const revoked = await create("revoked");
  await owner.request(RevokeKeyDocument, { input: { id: revoked.apiKey.id } });
  return { active, disabled, revoked };
}

export interface SeenResponse {
  path: string;
  method: string;
  status: number;
  headers: Headers;
  body: unknown;
}

/**
 * Checks real responses against the served /openapi.json with ajv (JSON Schema 2020-12, as
 * OpenAPI 3.1 uses): the status must be documented for the operation, a JSON body must match the
 * documented schema, the documented required response headers must be present, and integer ones sent must be whole numbers.
 */
export function openApiChecker(document: Record<string, any>) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema({ $id: "openapi.json", components: document.components });
  return (seen: SeenResponse) => {
    const operation = document.paths[seen.path]?.[seen.method.toLowerCase()];
    expect(operation, `${seen.method} ${seen.path} is documented`).toBeDefined();
    const response = operation.responses[String(seen.status)];
    expect(response, `${seen.method} ${seen.path} documents status ${seen.status}`).toBeDefined();
    const schema = response.content?.["application/json"]?.schema;
    if (schema) {
      const validate = ajv.compile({ $ref: `openapi.json${schema.$ref}` });
      expect(validate(seen.body), `${seen.method} ${seen.path} ${seen.status}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(seen.body)}`).toBe(true);
    } else {
      expect(seen.body, `${seen.method} ${seen.path} ${seen.status} has no documented body`).toBeUndefined();
    }
    for (const [name, header] of Object.entries<{ required?: boolean; schema?: { type?: string } }>(response.headers ?? {})) {
      const value = seen.headers.get(name);
      if (header.required) expect(value, `${seen.method} ${seen.path} ${seen.status} sends ${name}`).not.toBeNull();
      if (value !== null && header.schema?.type === "integer") expect(value, `${name} is a whole number`).toMatch(/^\d+$/);
    }
  };
}

/** fetch, keeping what an OpenAPI check needs. */
export async function call(url: string, path: string, init: RequestInit = {}): Promise<SeenResponse> {
  const response = await fetch(`${url}${path}`, init);
  const text = await response.text();
  const type = response.headers.get("content-type") ?? "";
  return {
    path: path.split("?")[0]!,
    method: init.method ?? "GET",
    status: response.status,
    headers: response.headers,
    body: type.includes("json") && text ? JSON.parse(text) : text === "" ? undefined : text,
  };
}
