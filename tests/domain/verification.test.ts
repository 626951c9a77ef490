import { describe, expect, it } from "vitest";
import { apiKeyDecider } from "../../src/domain/api-key.js";
import type { KeyDecisionEvent } from "../../src/domain/events.js";
import type { Service } from "../../src/domain/services.js";
import { verdict, type VerifiableKey, type Verification, type Verdict } from "../../src/domain/verification.js";
import { KEY_ID, keyCreated, keyRevoked, keyToggled, keyUpdated, OWNER } from "./fixtures.js";

const NOW = new Date("2026-03-07T12:34:56.789Z");
const GATEWAY = "sms-gateway";

/** Given the key's decision events, when a gateway asks for a service at a time, then this answer and these facts. */
function given(history: KeyDecisionEvent[]) {
  const key: VerifiableKey | undefined = history.reduce(apiKeyDecider.evolve, apiKeyDecider.initialState());
  return {
    when(service: Service, now = NOW) {
      const result = verdict(key, { service, gatewayId: GATEWAY }, now);
      return {
        then(verification: Verification, events: Verdict["events"] = []) {
          expect(result).toEqual({ verification, events });
        },
      };
    },
  };
}

const known = { keyId: KEY_ID, ownerId: OWNER };

describe("verdict", () => {
  it("accepts an active key of the asked service, with one KeyUsed fact at the given time", () => {
    given([keyCreated()])
      .when("SMS")
      .then({ code: "VALID", ...known }, [{ type: "KeyUsed", data: { keyId: KEY_ID, service: "SMS", usedAt: "2026-03-07T12:34:56.789Z", gatewayId: GATEWAY } }]);
    const later = new Date("2030-01-01T00:00:00Z");
    given([keyCreated({ service: "EMAIL" }), keyToggled("ACTIVE", "INACTIVE"), keyToggled("INACTIVE", "ACTIVE")])
      .when("EMAIL", later)
      .then({ code: "VALID", ...known }, [{ type: "KeyUsed", data: { keyId: KEY_ID, service: "EMAIL", usedAt: later.toISOString(), gatewayId: GATEWAY } }]);
  });

  it("answers NOT_FOUND, with no key id or owner, for a key that does not exist", () => {
    given([]).when("SMS").then({ code: "NOT_FOUND" });
    expect(verdict(undefined, { service: "EMAIL", gatewayId: GATEWAY }, NOW)).toEqual({ verification: { code: "NOT_FOUND" }, events: [] });
  });

  it("answers DISABLED for an inactive key and REVOKED for a revoked one, naming key and owner", () => {
    given([keyCreated(), keyToggled("ACTIVE", "INACTIVE")]).when("SMS").then({ code: "DISABLED", ...known });
    given([keyCreated(), keyRevoked()]).when("SMS").then({ code: "REVOKED", ...known });
    given([keyCreated(), keyToggled("ACTIVE", "INACTIVE"), keyRevoked("INACTIVE")]).when("SMS").then({ code: "REVOKED", ...known });
  });

  it("answers WRONG_SERVICE before looking at the status", () => {
    for (const service of ["EMAIL", "KALP_BOT", "STUDIO"] as const) {
      given([keyCreated()]).when(service).then({ code: "WRONG_SERVICE", ...known });
      given([keyCreated(), keyToggled("ACTIVE", "INACTIVE")]).when(service).then({ code: "WRONG_SERVICE", ...known });
      given([keyCreated(), keyRevoked()]).when(service).then({ code: "WRONG_SERVICE", ...known });
    }
  });

  it("does not care about the key's name or description", () => {
    given([keyCreated({ description: "d" }), keyUpdated({ name: { from: "checkout", to: "renamed" } })])
      .when("SMS")
      .then({ code: "VALID", ...known }, [{ type: "KeyUsed", data: { keyId: KEY_ID, service: "SMS", usedAt: NOW.toISOString(), gatewayId: GATEWAY } }]);
  });

  it("needs only the key's id, owner, service and status: the shape the live table holds", () => {
    const row: VerifiableKey = { keyId: "k", ownerId: "o", service: "STUDIO", status: "INACTIVE" };
    expect(verdict(row, { service: "STUDIO", gatewayId: GATEWAY }, NOW)).toEqual({ verification: { code: "DISABLED", keyId: "k", ownerId: "o" }, events: [] });
  });
});
