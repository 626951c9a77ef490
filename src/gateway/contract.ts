import { z } from "zod";
import { VERIFY_CODES } from "../domain/verification.js";
import { SERVICES } from "../domain/services.js";

/**
 * The HTTP gateway API's shapes, in one place: the handlers validate requests with these schemas
 * and /openapi.json is generated from them (z.toJSONSchema), so the document cannot drift from
 * the code. Responses are built by hand and checked against the document by tests/gateway-http.test.ts.
 */

/** Real keys are 59 to 62 characters; anything much longer is a mistake or an attack, not a key. */
export const MAX_KEY_LENGTH = 256;
/** A verify body is well under 1 KB; this leaves room for whitespace and future fields. */
export const MAX_BODY_BYTES = 16 * 1024;

/** The schemas /openapi.json publishes under components/schemas, by id. */
export const documentedSchemas = z.registry<{ id: string; description?: string }>();

const Key = z.string().max(MAX_KEY_LENGTH).describe("The full key the gateway's caller presented, e.g. klp_sms_…");
const Service = z.enum(SERVICES).describe("The service the gateway guards");

export const VerifyKeyRequest = z
  .strictObject({ key: Key, service: Service })
  .register(documentedSchemas, { id: "VerifyKeyRequest", description: "The fields of GraphQL's VerifyApiKeyInput" });

export const VerifyCode = z
  .enum(VERIFY_CODES)
  .register(documentedSchemas, { id: "VerifyCode", description: "VALID: accepted and recorded as KeyUsed. NOT_FOUND also covers malformed keys and bad checksums." });

export const VerifyKeyResponse = z
  .strictObject({
    valid: z.boolean(),
    code: VerifyCode,
    keyId: z.string().nullable().describe("The key's global ID, as GraphQL's ApiKey.id; null when the key is unknown"),
    ownerId: z.string().nullable().describe("The key owner's user id; null when the key is unknown"),
  })
  .register(documentedSchemas, { id: "VerifyKeyResponse", description: "The fields of GraphQL's VerifyApiKeyPayload. Every verdict is HTTP 200." });

export const REQUEST_ERROR_CODES = ["BAD_USER_INPUT", "UNAUTHENTICATED", "FORBIDDEN", "SERVICE_UNAVAILABLE", "INTERNAL_SERVER_ERROR"] as const;
export type RequestErrorCode = (typeof REQUEST_ERROR_CODES)[number];

/** Forward-auth's extra code for a request that carries no key at all. */
export const MISSING_KEY = "MISSING_KEY";

export const ErrorResponse = z
  .strictObject({
    error: z.strictObject({
      code: z.string().describe(`One of ${REQUEST_ERROR_CODES.join(", ")}; on forward-auth denials also a verification code or ${MISSING_KEY}`),
      field: z.string().optional().describe("With BAD_USER_INPUT: the body field, query parameter or header at fault"),
      message: z.string(),
    }),
  })
  .register(documentedSchemas, { id: "ErrorResponse", description: "Every non-2xx answer of the gateway endpoints" });

export const ForwardAuthQuery = z.strictObject({ service: Service });
documentedSchemas.add(Service, { id: "Service" });

export type VerifyKeyResponseBody = z.infer<typeof VerifyKeyResponse>;
export type ErrorResponseBody = z.infer<typeof ErrorResponse>;
