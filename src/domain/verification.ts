import type { DomainEvent, EventData } from "./events.js";
import { exhaustive } from "./exhaustive.js";
import type { KeyStatus, Service } from "./services.js";

export const VERIFY_CODES = ["VALID", "NOT_FOUND", "DISABLED", "REVOKED", "WRONG_SERVICE"] as const;
export type VerifyCode = (typeof VERIFY_CODES)[number];

/** The answer a gateway gets. keyId and ownerId are given for every key that exists. */
export interface Verification {
  code: VerifyCode;
  keyId?: string;
  ownerId?: string;
}

/** What the verdict needs to know of a key: its current state (key policies will add to it). */
export interface VerifiableKey {
  keyId: string;
  ownerId: string;
  service: Service;
  status: KeyStatus;
}

/** What a gateway asks: may the key be used for this service? `gatewayId` is who asks. */
export interface VerificationRequest {
  service: Service;
  gatewayId: string;
}

export type KeyUsedEvent = Extract<DomainEvent, { type: "KeyUsed" }>;

/** The answer and the facts that record it; the answer may be given only once the facts are durable. */
export interface Verdict {
  verification: Verification;
  events: KeyUsedEvent[];
}

/**
 * Key state + request + time → answer. Checks run in this order: existence, service, status;
 * an accepted key yields one KeyUsed fact at `now`. A key that does not exist is `undefined`.
 */
export function verdict(key: VerifiableKey | undefined, request: VerificationRequest, now: Date): Verdict {
  if (!key) return { verification: { code: "NOT_FOUND" }, events: [] };
  const refused = (code: VerifyCode): Verdict => ({ verification: { code, keyId: key.keyId, ownerId: key.ownerId }, events: [] });
  if (key.service !== request.service) return refused("WRONG_SERVICE");
  switch (key.status) {
    case "REVOKED":
      return refused("REVOKED");
    case "INACTIVE":
      return refused("DISABLED");
    case "ACTIVE": {
      const data: EventData<"KeyUsed"> = { keyId: key.keyId, service: key.service, usedAt: now.toISOString(), gatewayId: request.gatewayId };
      return { verification: { code: "VALID", keyId: key.keyId, ownerId: key.ownerId }, events: [{ type: "KeyUsed", data }] };
    }
    default:
      return exhaustive(key.status, "key status");
  }
}
