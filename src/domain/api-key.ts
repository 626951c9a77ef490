import { conflict, invalid, type DomainError } from "./errors.js";
import type { EventData, KeyDecisionEvent } from "./events.js";
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
    }
  | { kind: "setStatus"; status: KeyStatus }
  | { kind: "update"; name?: string; description?: string | null }
  | { kind: "revoke"; reason?: string | null };

export type Decision = { events: KeyDecisionEvent[] } | { error: DomainError };

export function evolve(state: ApiKeyStateOrNone, event: KeyDecisionEvent): ApiKeyStateOrNone {
  switch (event.type) {
    case "KeyCreated": {
      const { keyId, ownerId, service, name, description } = event.data;
      return { keyId, ownerId, service, name, description, status: "ACTIVE" };
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
    default:
      return exhaustive(event, "event");
  }
}

const decided = (...events: KeyDecisionEvent[]): Decision => ({ events });

/** Command + current state → the events that record it, or why it is refused. Nothing changes: no events. */
export function decide(command: ApiKeyCommand, state: ApiKeyStateOrNone): Decision {
  if (command.kind === "create") {
    if (state) return { error: conflict("A key with this id already exists") };
    const name = checkName(command.name);
    if ("error" in name) return name;
    const description = checkDescription(command.description);
    if ("error" in description) return description;
    const data: EventData<"KeyCreated"> = {
      keyId: command.keyId,
      ownerId: command.ownerId,
      service: command.service,
      name: name.value,
      description: description.value,
      keyHash: command.keyHash,
      display: command.display,
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
      return data.name || data.description ? decided({ type: "KeyUpdated", data }) : decided();
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
