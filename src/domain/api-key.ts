import { conflict, invalid, type DomainError } from "./errors.js";
import type { EventData, KeyDecisionEvent } from "./events.js";
import { checkPolicies, createdPolicies, NO_POLICIES, policiesFromCreated, samePolicyValue, type KeyPolicies, type PolicyChanges } from "./policies/key-policies.js";
import { checkGracePeriod } from "./policies/validation.js";
import { exhaustive } from "./exhaustive.js";
import type { KeyDisplay } from "./key-format.js";
import type { KeyStatus, Service } from "./services.js";
import { checkDescription, checkName, checkReason } from "./user-text.js";

export interface ApiKeyState {
  keyId: string;
  ownerId: string;
  service: Service;
  name: string;
  description: string | null;
  status: KeyStatus;
  policies: KeyPolicies;
  rotatedTo: string | null;
}

/** A key's state before its first event: it does not exist. */
export type ApiKeyStateOrNone = ApiKeyState | undefined;

export type ApiKeyCommand =
  | {
      kind: "create";
      keyId: string;
      ownerId: string;
      service: Service;
      name: string;
      description?: string | null;
      keyHash: string;
      display: KeyDisplay;
      policies?: PolicyChanges;
      rotatedFrom?: string | null;
      /** ms since epoch: an expiry must lie after it. */
      now: number;
    }
  | { kind: "setStatus"; status: KeyStatus }
  | ({ kind: "update"; name?: string; description?: string | null } & ({ policies?: undefined } | { policies: PolicyChanges; now: number }))
  | { kind: "revoke"; reason?: string | null }
  /** `remaining` is the key's balance now, read under its lock: a decision cannot take credits below 0. */
  | { kind: "addCredits"; amount: number; remaining: number }
  | { kind: "rotate"; toKeyId: string; gracePeriodMs: number; now: number };

export type Decision = { events: KeyDecisionEvent[] } | { error: DomainError };

export function evolve(state: ApiKeyStateOrNone, event: KeyDecisionEvent): ApiKeyStateOrNone {
  switch (event.type) {
    case "KeyCreated": {
      const { keyId, ownerId, service, name, description } = event.data;
      return { keyId, ownerId, service, name, description, status: "ACTIVE", policies: policiesFromCreated(event.data), rotatedTo: null };
    }
    case "KeyToggled":
      return state && { ...state, status: event.data.to };
    case "KeyUpdated":
      return (
        state && {
          ...state,
          name: event.data.name?.to ?? state.name,
          description: event.data.description ? event.data.description.to : state.description,
        }
      );
    case "KeyRevoked":
      return state && { ...state, status: "REVOKED" };
    case "KeyExpirySet":
      return state && withPolicies(state, { expiresAt: event.data.expiresAt === null ? null : Date.parse(event.data.expiresAt) });
    case "KeyPermissionsSet":
      return state && withPolicies(state, { permissions: event.data.permissions });
    case "KeyMetaSet":
      return state && withPolicies(state, { meta: event.data.meta });
    case "KeyRatelimitsSet":
      return state && withPolicies(state, { ratelimits: event.data.ratelimits });
    case "KeyCreditsSet":
      return state && withPolicies(state, { credits: event.data.credits });
    case "CreditsAdded":
      return state;
    case "KeyRotated":
      return state && { ...withPolicies(state, { expiresAt: Date.parse(event.data.expiresAt) }), rotatedTo: event.data.toKeyId };
    default:
      return exhaustive(event, "event");
  }
}

const withPolicies = (state: ApiKeyState, changes: Partial<KeyPolicies>): ApiKeyState => ({ ...state, policies: { ...state.policies, ...changes } });

/** The events that take a key's policies from `current` to `changes` (nothing for what stays the same). */
function policyEvents(keyId: string, current: KeyPolicies, changes: PolicyChanges): KeyDecisionEvent[] {
  const events: KeyDecisionEvent[] = [];
  if (changes.expiresAt !== undefined && changes.expiresAt !== current.expiresAt) {
    events.push({ type: "KeyExpirySet", data: { keyId, expiresAt: changes.expiresAt === null ? null : new Date(changes.expiresAt).toISOString() } });
  }
  if (changes.permissions && !samePolicyValue(changes.permissions, current.permissions)) {
    events.push({ type: "KeyPermissionsSet", data: { keyId, permissions: [...changes.permissions] } });
  }
  if (changes.meta !== undefined && !samePolicyValue(changes.meta, current.meta)) {
    events.push({ type: "KeyMetaSet", data: { keyId, meta: changes.meta } });
  }
  if (changes.ratelimits && !samePolicyValue(changes.ratelimits, current.ratelimits)) {
    events.push({ type: "KeyRatelimitsSet", data: { keyId, ratelimits: [...changes.ratelimits] } });
  }
  // Credits given are always recorded: they set the balance, whatever it is now.
  if (changes.credits !== undefined && !(changes.credits === null && current.credits === null)) {
    events.push({ type: "KeyCreditsSet", data: { keyId, credits: changes.credits } });
  }
  return events;
}

const MAX_CREDITS_CHANGE = 1_000_000_000;
/** The largest balance: every answer carries it as a GraphQL Int (32-bit signed). */
const MAX_CREDITS_REMAINING = 2 ** 31 - 1;

const decided = (...events: KeyDecisionEvent[]): Decision => ({ events });

/** Command + current state → the events that record it, or why it is refused. Nothing changes: no events. */
export function decide(command: ApiKeyCommand, state: ApiKeyStateOrNone): Decision {
  if (command.kind === "create") {
    if (state) return { error: conflict("A key with this id already exists") };
    const name = checkName(command.name);
    if ("error" in name) return name;
    const description = checkDescription(command.description);
    if ("error" in description) return description;
    const policies = checkPolicies(command.policies ?? {}, command.now);
    if ("error" in policies) return policies;
    const data: EventData<"KeyCreated"> = {
      keyId: command.keyId,
      ownerId: command.ownerId,
      service: command.service,
      name: name.value,
      description: description.value,
      keyHash: command.keyHash,
      display: command.display,
      ...createdPolicies(policies.value),
      rotatedFrom: command.rotatedFrom ?? null,
    };
    return decided({ type: "KeyCreated", data });
  }

  if (!state) return { error: { kind: "not_found" } };
  const keyId = state.keyId;

  switch (command.kind) {
    case "setStatus": {
      if (command.status === "REVOKED") {
        return { error: invalid("status", "Use revokeApiKey to revoke a key; setKeyStatus takes ACTIVE or INACTIVE") };
      }
      if (state.status === "REVOKED") return { error: conflict("The key is revoked; revocation is final") };
      if (state.status === command.status) return decided();
      return decided({ type: "KeyToggled", data: { keyId, from: state.status, to: command.status } });
    }
    case "update": {
      if (state.status === "REVOKED") return { error: conflict("The key is revoked and can no longer be edited") };
      const data: EventData<"KeyUpdated"> = { keyId };
      if (command.name !== undefined) {
        const name = checkName(command.name);
        if ("error" in name) return name;
        if (name.value !== state.name) data.name = { from: state.name, to: name.value };
      }
      if (command.description !== undefined) {
        const description = checkDescription(command.description);
        if ("error" in description) return description;
        if (description.value !== state.description) {
          data.description = { from: state.description, to: description.value };
        }
      }
      const events: KeyDecisionEvent[] = data.name || data.description ? [{ type: "KeyUpdated", data }] : [];
      if (command.policies) {
        const policies = checkPolicies(command.policies, command.now);
        if ("error" in policies) return policies;
        const changes = policyEvents(keyId, state.policies, policies.value);
        if (changes.length > 0 && state.rotatedTo) {
          return { error: conflict("The key was rotated: change its policies on the key that replaced it") };
        }
        events.push(...changes);
      }
      return decided(...events);
    }
    case "addCredits": {
      if (!Number.isInteger(command.amount) || command.amount === 0 || Math.abs(command.amount) > MAX_CREDITS_CHANGE) {
        return { error: invalid("amount", "amount must be a whole number other than 0, at most 1000000000 either way") };
      }
      if (state.status === "REVOKED") return { error: conflict("The key is revoked and can no longer be edited") };
      if (state.rotatedTo) return { error: conflict("The key was rotated: add credits to the key that replaced it") };
      if (!state.policies.credits) return { error: conflict("The key has no credits: set credits with updateApiKey first") };
      if (command.remaining + command.amount > MAX_CREDITS_REMAINING) {
        return { error: invalid("amount", `the balance would exceed ${MAX_CREDITS_REMAINING}, the most a key can hold`) };
      }
      const remaining = Math.max(0, command.remaining + command.amount);
      return decided({ type: "CreditsAdded", data: { keyId, amount: command.amount, remaining } });
    }
    case "rotate": {
      const grace = checkGracePeriod("gracePeriodMs", command.gracePeriodMs);
      if (grace) return { error: grace };
      if (state.status === "REVOKED") return { error: conflict("The key is revoked: a revoked key cannot be rotated") };
      if (state.rotatedTo) return { error: conflict(`The key was already rotated`) };
      if (state.status === "INACTIVE") return { error: conflict("The key is switched off: switch it on before rotating it") };
      if (state.policies.expiresAt !== null && state.policies.expiresAt <= command.now) {
        return { error: conflict("The key has expired: an expired key cannot be rotated") };
      }
      const graceEnds = command.now + command.gracePeriodMs;
      const expiresAt = state.policies.expiresAt === null ? graceEnds : Math.min(state.policies.expiresAt, graceEnds);
      return decided({
        type: "KeyRotated",
        data: { keyId, toKeyId: command.toKeyId, gracePeriodMs: command.gracePeriodMs, expiresAt: new Date(expiresAt).toISOString() },
      });
    }
    case "revoke": {
      const reason = checkReason(command.reason);
      if ("error" in reason) return reason;
      if (state.status === "REVOKED") return decided();
      return decided({ type: "KeyRevoked", data: { keyId, from: state.status, reason: reason.value } });
    }
    default:
      return exhaustive(command, "command");
  }
}

/** The key's decider in Emmett's shape: fold its events from `initialState` with `evolve`, then `decide`. */
export const apiKeyDecider = {
  decide,
  evolve,
  initialState: (): ApiKeyStateOrNone => undefined,
};
