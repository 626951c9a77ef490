import { VERIFY_CODES } from "../../domain/verification.js";
import { builder } from "../builder.js";

export const VerifyCodeEnum = builder.enumType("VerifyCode", {
  description: "VALID: accepted and recorded as KeyUsed. NOT_FOUND also covers malformed keys and bad checksums.",
  values: VERIFY_CODES,
});
