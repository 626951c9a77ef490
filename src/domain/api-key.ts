import { conflict, invalid, type DomainError } from "./errors.js";
import type { EventData, KeyDecisionEvent } from "./events.js";
import type { KeyDisplay } from "./key-format.js";
import type { KeyStatus, Service } from "./services.js";

export interface ApiKeyState {
  keyId: string;
  ownerId: string;
  service: Service;
  name: string;
  description: string | null;
  status: KeyStatus;
}

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

export const NAME_MAX = 64;
export const DESCRIPTION_MAX = 256;
export const REASON_MAX = 256;
const CONTROL_CHARACTERS = /\p{Cc}/u;

type Checked<T> = { value: T } | { error: DomainError };

function checkText(field: string, raw: string, max: number, required: boolean): Checked<string | null> {
  if (CONTROL_CHARACTERS.test(raw)) return { error: invalid(field, `${field} must not contain control characters`) };
  const value = raw.trim();
  const length = [...value].length;
  if (required && length === 0) return { error: invalid(field, `${field} must not be empty`) };
  if (length > max) return { error: invalid(field, `${field} must be at most ${max} characters`) };
  return { value: length === 0 ? null : value };
}

const checkName = (raw: string) => checkText("name", raw, NAME_MAX, true) as Checked<string>;
const checkOptional = (field: string, raw: string | null | undefined, max: number): Checked<string | null> =>
  raw == null ? { value: null } : checkText(field, raw, max, false);

export function evolve(state: ApiKeyState | undefined, event: KeyDecisionEvent): ApiKeyState | undefined {
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
  }
}

const decided = (...events: KeyDecisionEvent[]): Decision => ({ events });

/** Command + current state → the events that record it, or why it is refused. Nothing changes: no events. */
export function decide(command: ApiKeyCommand, state: ApiKeyState | undefined): Decision {
  if (command.kind === "create") {
    if (state) return { error: conflict("A key with this id already exists") };
    const name = checkName(command.name);
    if ("error" in name) return name;
    const description = checkOptional("description", command.description, DESCRIPTION_MAX);
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
        const description = checkOptional("description", command.description, DESCRIPTION_MAX);
        if ("error" in description) return description;
        if (description.value !== state.description) {
          data.description = { from: state.description, to: description.value };
        }
      }
      return data.name || data.description ? decided({ type: "KeyUpdated", data }) : decided();
    }
    case "revoke": {
      const reason = checkOptional("reason", command.reason, REASON_MAX);
      if ("error" in reason) return reason;
      if (state.status === "REVOKED") return decided();
      return decided({ type: "KeyRevoked", data: { keyId, from: state.status, reason: reason.value } });
    }
  }
}
