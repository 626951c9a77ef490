import { encodeGlobalID } from "@pothos/plugin-relay";
import type { Verification } from "../domain/verification.js";
import type { VerifyKeyResponseBody } from "./contract.js";

/** The key's id as GraphQL shows it (ApiKey's global ID), so a gateway can look it up there. */
export const globalKeyId = (keyId: string) => encodeGlobalID("ApiKey", keyId);

/** The verifier's answer in the shape of GraphQL's VerifyApiKeyPayload. */
export function verificationBody(verification: Verification): VerifyKeyResponseBody {
  return {
    valid: verification.code === "VALID",
    code: verification.code,
    keyId: verification.keyId ? globalKeyId(verification.keyId) : null,
    ownerId: verification.ownerId ?? null,
  };
}
