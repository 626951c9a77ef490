import { z } from "zod";
import { POLICY_LIMITS } from "../domain/policies/validation.js";
import { VERIFY_CODES } from "../domain/verification.js";
import { SERVICES } from "../domain/services.js";

/**
 * The HTTP gateway API's shapes, in one place: the handlers validate requests with these schemas
 * and /openapi.json is generated from them (z.toJSONSchema), so the document cannot drift from
 * the code. Responses are built by hand and checked against the document by tests/gateway/http.test.ts.
 */

/** Real keys are 59 to 62 characters; anything much longer is a mistake or an attack, not a key. */
export const MAX_KEY_LENGTH = 256;
/** A verify body is well under 1 KB; this leaves room for whitespace and future fields. */
export const MAX_BODY_BYTES = 16 * 1024;

/** The schemas /openapi.json publishes under components/schemas, by id. */
export const documentedSchemas = z.registry<{ id: string; description?: string }>();

const Key = z.string().max(MAX_KEY_LENGTH).describe("The full key the gateway's caller presented, e.g. klp_sms_…");
const Service = z.enum(SERVICES).describe("The service the gateway guards");

/** At most this many rate limits can be named in one request (a key has at most as many). */
export const MAX_REQUESTED_RATELIMITS = POLICY_LIMITS.ratelimitsPerKey;

const Permission = z.string().regex(POLICY_LIMITS.permissionPattern).describe("1 to 64 of a-z 0-9 _ . : * -");
export const Permissions = z
  .array(Permission)
  .max(POLICY_LIMITS.permissionsPerKey)
  .describe("Permissions the request needs; the key must hold each (a held permission ending in * grants every one it prefixes)");
export const Cost = z.int().min(POLICY_LIMITS.cost.min).max(POLICY_LIMITS.cost.max);

export const VerifyKeyRequest = z
  .strictObject({
    key: Key,
    service: Service,
    permissions: Permissions.nullish(),
    cost: Cost.nullish().describe("Credits to spend when the key has credits: default 1, 0 checks without spending"),
    ratelimits: z
      .array(z.strictObject({ name: z.string().max(64), cost: Cost.nullish().describe("Default 1; 0 checks without counting") }))
      .max(MAX_REQUESTED_RATELIMITS)
      .nullish()
      .describe("Which of the key's rate limits to apply and at what cost; default all of them at cost 1. Naming one the key does not have is BAD_USER_INPUT"),
  })
  .register(documentedSchemas, { id: "VerifyKeyRequest", description: "The fields of GraphQL's VerifyApiKeyInput; null is the same as absent" });

export const VerifyCode = z
  .enum(VERIFY_CODES)
  .register(documentedSchemas, { id: "VerifyCode", description: "VALID: accepted and recorded as KeyUsed. NOT_FOUND also covers malformed keys and bad checksums." });

export const VerifyKeyResponse = z
  .strictObject({
    valid: z.boolean(),
    code: VerifyCode,
    keyId: z.string().nullable().describe("The key's global ID, as GraphQL's ApiKey.id; null when the key is unknown"),
    ownerId: z.string().nullable().describe("The key owner's user id; null when the key is unknown"),
    expiresAt: z.iso.datetime().nullable().describe("When the key expires; null when it does not, or the key is unknown"),
    permissions: z.array(z.string()).nullable().describe("The permissions the key holds; null when the key is unknown"),
    meta: z.record(z.string(), z.unknown()).nullable().describe("The key's metadata, a JSON object; null when it has none or the key is unknown"),
    credits: z
      .strictObject({ remaining: z.int().min(0) })
      .nullable()
      .describe("The credits left after this request; null when the key has no credits (it is not metered) or is unknown"),
    ratelimits: z
      .array(
        z.strictObject({
          name: z.string(),
          limit: z.int(),
          remaining: z.int().min(0).describe("Cost still admitted now, after this request when it was admitted"),
          resetAt: z.iso.datetime().describe("When the oldest counted cost leaves the window"),
        }),
      )
      .describe("The rate limits applied, in the order applied; empty when none were checked (the key is unknown or has none, or was refused earlier)"),
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

/** `permissions=a,b` (empty: none asked) and `cost=2` as query parameters are strings; they become what VerifyKeyRequest takes. */
export const ForwardAuthQuery = z.strictObject({
  service: Service,
  permissions: z
    .string()
    .transform((list) => (list === "" ? [] : list.split(",")))
    .pipe(Permissions)
    .optional(),
  cost: z
    .string()
    .regex(/^\d{1,4}$/, "cost must be a whole number")
    .transform(Number)
    .pipe(Cost)
    .optional(),
});
documentedSchemas.add(Service, { id: "Service" });

export type VerifyKeyResponseBody = z.infer<typeof VerifyKeyResponse>;
export type ErrorResponseBody = z.infer<typeof ErrorResponse>;
