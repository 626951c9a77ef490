/** Every answer a verification can give; the order of the checks is in domain/verification.ts. */
export const VERIFY_CODES = [
  "VALID",
  "NOT_FOUND",
  "WRONG_SERVICE",
  "REVOKED",
  "DISABLED",
  "EXPIRED",
  "INSUFFICIENT_PERMISSIONS",
  "USAGE_EXCEEDED",
  "RATE_LIMITED",
] as const;
export type VerifyCode = (typeof VERIFY_CODES)[number];
/** The codes a known key can be refused with; each is recorded as a KeyDenied fact. */
export type DenialCode = Exclude<VerifyCode, "VALID" | "NOT_FOUND">;
