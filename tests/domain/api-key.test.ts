import { describe, expect, it } from "vitest";
import { apiKeyDecider } from "../../src/domain/api-key.js";
import { conflict, invalid, type DomainError } from "../../src/domain/errors.js";
import { exhaustive } from "../../src/domain/exhaustive.js";
import { NO_POLICIES } from "../../src/domain/policies/key-policies.js";
import { DeciderSpecification } from "./decider-specification.js";
import { createCommand, KEY_ID, keyCreated, keyRevoked, keyToggled, keyUpdated, OWNER } from "./fixtures.js";

const given = DeciderSpecification.for(apiKeyDecider);
const notFound: DomainError = { kind: "not_found" };
const tooLong = (field: string, max: number) => invalid(field, `${field} must be at most ${max} characters`);
const controlCharacters = (field: string) => invalid(field, `${field} must not contain control characters`);

describe("create", () => {
  it("records KeyCreated for a new key, trimming name and description", () => {
    given([])
      .when(createCommand({ name: "  checkout  ", description: "  for the shop " }))
      .then(keyCreated({ name: "checkout", description: "for the shop" }));
  });

  it("stores a missing, null or blank description as null", () => {
    given([]).when(createCommand()).then(keyCreated({ description: null }));
    given([]).when(createCommand({ description: null })).then(keyCreated({ description: null }));
    given([]).when(createCommand({ description: "   " })).then(keyCreated({ description: null }));
  });

  it("keeps every other field of the command", () => {
    const display = { prefix: "klp_bot_", start: "abcd", end: "wxyz" };
    given([])
      .when(createCommand({ service: "KALP_BOT", ownerId: "bob", keyHash: "f".repeat(64), display }))
      .then(keyCreated({ service: "KALP_BOT", ownerId: "bob", keyHash: "f".repeat(64), display }));
  });

  it("refuses a key id that already exists", () => {
    given(keyCreated()).when(createCommand()).thenFails(conflict("A key with this id already exists"));
    given([keyCreated(), keyRevoked()]).when(createCommand()).thenFails(conflict("A key with this id already exists"));
  });

  it("refuses an empty or blank name", () => {
    for (const name of ["", "   ", "\u00a0\u3000"]) {
      given([]).when(createCommand({ name })).thenFails(invalid("name", "name must not be empty"));
    }
  });

  it("counts a name's length in characters, up to 64", () => {
    given([]).when(createCommand({ name: "x".repeat(64) })).then(keyCreated({ name: "x".repeat(64) }));
    given([]).when(createCommand({ name: "😀".repeat(64) })).then(keyCreated({ name: "😀".repeat(64) }));
    given([]).when(createCommand({ name: "x".repeat(65) })).thenFails(tooLong("name", 64));
    given([]).when(createCommand({ name: "😀".repeat(65) })).thenFails(tooLong("name", 64));
  });

  it("refuses control characters in the name", () => {
    for (const name of ["bad\u0007bell", "new\nline", "tab\there", "nul\u0000", "del\u007f", "c1\u0085"]) {
      given([]).when(createCommand({ name })).thenFails(controlCharacters("name"));
    }
  });

  it("checks the description: at most 256 characters, no control characters", () => {
    given([]).when(createCommand({ description: "d".repeat(256) })).then(keyCreated({ description: "d".repeat(256) }));
    given([]).when(createCommand({ description: "d".repeat(257) })).thenFails(tooLong("description", 256));
    given([]).when(createCommand({ description: "tab\there" })).thenFails(controlCharacters("description"));
  });

  it("checks the name before the description", () => {
    given([]).when(createCommand({ name: "", description: "d".repeat(257) })).thenFails(invalid("name", "name must not be empty"));
  });
});

describe("setStatus", () => {
  it("records a real change as KeyToggled from → to", () => {
    given(keyCreated()).when({ kind: "setStatus", status: "INACTIVE" }).then(keyToggled("ACTIVE", "INACTIVE"));
    given([keyCreated(), keyToggled("ACTIVE", "INACTIVE")]).when({ kind: "setStatus", status: "ACTIVE" }).then(keyToggled("INACTIVE", "ACTIVE"));
  });

  it("records nothing when the key already has the status", () => {
    given(keyCreated()).when({ kind: "setStatus", status: "ACTIVE" }).thenNothingHappened();
    given([keyCreated(), keyToggled("ACTIVE", "INACTIVE")]).when({ kind: "setStatus", status: "INACTIVE" }).thenNothingHappened();
  });

  it("refuses REVOKED as a status: revoking is its own command", () => {
    const useRevoke = invalid("status", "Use revokeApiKey to revoke a key; setKeyStatus takes ACTIVE or INACTIVE");
    given(keyCreated()).when({ kind: "setStatus", status: "REVOKED" }).thenFails(useRevoke);
    given([keyCreated(), keyRevoked()]).when({ kind: "setStatus", status: "REVOKED" }).thenFails(useRevoke);
  });

  it("refuses any change to a revoked key, even to its current status", () => {
    const final = conflict("The key is revoked; revocation is final");
    given([keyCreated(), keyRevoked()]).when({ kind: "setStatus", status: "ACTIVE" }).thenFails(final);
    given([keyCreated(), keyToggled("ACTIVE", "INACTIVE"), keyRevoked("INACTIVE")]).when({ kind: "setStatus", status: "INACTIVE" }).thenFails(final);
  });

  it("answers not found for a key that does not exist", () => {
    given([]).when({ kind: "setStatus", status: "INACTIVE" }).thenFails(notFound);
  });
});

describe("update", () => {
  const given1 = given(keyCreated({ name: "before", description: "old text" }));

  it("records the changed fields with old and new values", () => {
    given1
      .when({ kind: "update", name: " after ", description: "new text" })
      .then(keyUpdated({ name: { from: "before", to: "after" }, description: { from: "old text", to: "new text" } }));
    given1.when({ kind: "update", name: "after" }).then(keyUpdated({ name: { from: "before", to: "after" } }));
    given1.when({ kind: "update", description: "new text" }).then(keyUpdated({ description: { from: "old text", to: "new text" } }));
  });

  it("records only the fields that really change", () => {
    given1.when({ kind: "update", name: "before", description: "new text" }).then(keyUpdated({ description: { from: "old text", to: "new text" } }));
    given1.when({ kind: "update", name: "after", description: " old text " }).then(keyUpdated({ name: { from: "before", to: "after" } }));
  });

  it("clears the description with null or blank text", () => {
    given1.when({ kind: "update", description: null }).then(keyUpdated({ description: { from: "old text", to: null } }));
    given1.when({ kind: "update", description: "  " }).then(keyUpdated({ description: { from: "old text", to: null } }));
    given(keyCreated()).when({ kind: "update", description: null }).thenNothingHappened();
  });

  it("records nothing when nothing changes or nothing is given", () => {
    given1.when({ kind: "update" }).thenNothingHappened();
    given1.when({ kind: "update", name: "  before " }).thenNothingHappened();
    given1.when({ kind: "update", name: "before", description: "old text" }).thenNothingHappened();
  });

  it("compares with the latest values, after earlier updates", () => {
    const history = [keyCreated({ name: "one" }), keyUpdated({ name: { from: "one", to: "two" }, description: { from: null, to: "text" } })];
    given(history).when({ kind: "update", name: "two", description: "text" }).thenNothingHappened();
    given(history).when({ kind: "update", name: "three" }).then(keyUpdated({ name: { from: "two", to: "three" } }));
  });

  it("edits an inactive key", () => {
    given([keyCreated(), keyToggled("ACTIVE", "INACTIVE")]).when({ kind: "update", name: "renamed" }).then(keyUpdated({ name: { from: "checkout", to: "renamed" } }));
  });

  it("validates name and description as create does", () => {
    given1.when({ kind: "update", name: "" }).thenFails(invalid("name", "name must not be empty"));
    given1.when({ kind: "update", name: "x".repeat(65) }).thenFails(tooLong("name", 64));
    given1.when({ kind: "update", name: "new\nline" }).thenFails(controlCharacters("name"));
    given1.when({ kind: "update", description: "d".repeat(257) }).thenFails(tooLong("description", 256));
    given1.when({ kind: "update", name: "fine", description: "bell\u0007" }).thenFails(controlCharacters("description"));
  });

  it("refuses to edit a revoked key, even with nothing to change", () => {
    const final = conflict("The key is revoked and can no longer be edited");
    given([keyCreated(), keyRevoked()]).when({ kind: "update", name: "revived" }).thenFails(final);
    given([keyCreated(), keyRevoked()]).when({ kind: "update" }).thenFails(final);
  });

  it("answers not found for a key that does not exist", () => {
    given([]).when({ kind: "update", name: "x" }).thenFails(notFound);
  });
});

describe("revoke", () => {
  it("records KeyRevoked with the status it left and the trimmed reason", () => {
    given(keyCreated()).when({ kind: "revoke", reason: " leaked " }).then(keyRevoked("ACTIVE", "leaked"));
    given([keyCreated(), keyToggled("ACTIVE", "INACTIVE")]).when({ kind: "revoke" }).then(keyRevoked("INACTIVE", null));
  });

  it("stores a missing, null or blank reason as null", () => {
    given(keyCreated()).when({ kind: "revoke" }).then(keyRevoked("ACTIVE", null));
    given(keyCreated()).when({ kind: "revoke", reason: null }).then(keyRevoked("ACTIVE", null));
    given(keyCreated()).when({ kind: "revoke", reason: "   " }).then(keyRevoked("ACTIVE", null));
  });

  it("records nothing when the key is already revoked", () => {
    given([keyCreated(), keyRevoked()]).when({ kind: "revoke", reason: "again" }).thenNothingHappened();
  });

  it("checks the reason: at most 256 characters, no control characters, even on a revoked key", () => {
    given(keyCreated()).when({ kind: "revoke", reason: "r".repeat(256) }).then(keyRevoked("ACTIVE", "r".repeat(256)));
    given(keyCreated()).when({ kind: "revoke", reason: "r".repeat(257) }).thenFails(tooLong("reason", 256));
    given(keyCreated()).when({ kind: "revoke", reason: "line\nbreak" }).thenFails(controlCharacters("reason"));
    given([keyCreated(), keyRevoked()]).when({ kind: "revoke", reason: "r".repeat(257) }).thenFails(tooLong("reason", 256));
  });

  it("answers not found for a key that does not exist", () => {
    given([]).when({ kind: "revoke" }).thenFails(notFound);
  });
});

describe("evolve", () => {
  const fold = (...events: Parameters<typeof apiKeyDecider.evolve>[1][]) => events.reduce(apiKeyDecider.evolve, apiKeyDecider.initialState());

  it("starts from no key", () => {
    expect(apiKeyDecider.initialState()).toBeUndefined();
    expect(fold()).toBeUndefined();
  });

  it("folds a key's history into its current state", () => {
    const base = { keyId: KEY_ID, ownerId: OWNER, service: "SMS", policies: NO_POLICIES, rotatedTo: null };
    expect(fold(keyCreated({ description: "d" }))).toEqual({ ...base, name: "checkout", description: "d", status: "ACTIVE" });
    expect(fold(keyCreated(), keyToggled("ACTIVE", "INACTIVE"))).toMatchObject({ status: "INACTIVE" });
    expect(fold(keyCreated({ description: "d" }), keyUpdated({ name: { from: "checkout", to: "renamed" } }))).toMatchObject({
      name: "renamed",
      description: "d",
    });
    expect(fold(keyCreated({ description: "d" }), keyUpdated({ description: { from: "d", to: null } }))).toMatchObject({
      name: "checkout",
      description: null,
    });
    expect(fold(keyCreated(), keyToggled("ACTIVE", "INACTIVE"), keyRevoked("INACTIVE"))).toMatchObject({ status: "REVOKED" });
  });

  it("ignores changes to a key it never saw created", () => {
    expect(fold(keyToggled("ACTIVE", "INACTIVE"))).toBeUndefined();
    expect(fold(keyUpdated({ name: { from: "a", to: "b" } }))).toBeUndefined();
    expect(fold(keyRevoked())).toBeUndefined();
  });
});

describe("exhaustiveness", () => {
  it("accepts only `never`, so a switch that forgets a case does not compile", () => {
    // @ts-expect-error a string is not `never`: this line must not compile (tsc checks the test files)
    expect(() => exhaustive("rename", "command")).toThrow('Unhandled command: "rename"');
  });
});
