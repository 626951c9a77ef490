import { randomBytes, randomUUID } from "node:crypto";
import { ForbiddenError } from "../auth/errors.js";
import type { Viewer } from "../auth/viewer.js";
import { mayChange, writesOwnKeys } from "../auth/visibility.js";
import { apiKeyDecider, type ApiKeyCommand, type ApiKeyStateOrNone } from "../domain/api-key.js";
import { DomainRejection } from "../domain/errors.js";
import { parseEvent, type KeyDecisionEvent } from "../domain/events.js";
import { displayParts, formatKey, hashKey, RANDOM_BYTES } from "../domain/key-format.js";
import type { KeyStatus, Service } from "../domain/services.js";
import { ConcurrencyError } from "../eventstore/errors.js";
import type { EventStore } from "../eventstore/event-store.js";
import { metadataOf, toNewEvent } from "./recording.js";

export interface Caller {
  viewer: Viewer;
  requestId: string;
}

export interface CommandResult {
  keyId: string;
  version: number;
}

const MAX_ATTEMPTS = 3;

/**
 * Load a key's events, fold them into state, decide, append with the version decided on.
 * A caller that did not name an expectedVersion gets its command re-decided on a conflict;
 * one that did gets the ConcurrencyError.
 */
export class ApiKeyCommands {
  constructor(
    private readonly store: EventStore,
    private readonly random: (size: number) => Uint8Array = randomBytes,
    private readonly newId: () => string = randomUUID,
  ) {}

  async create(caller: Caller, input: { service: Service; name: string; description?: string | null }) {
    if (!writesOwnKeys(caller.viewer)) throw new ForbiddenError("Creating keys needs the owner or admin role");
    const keyId = this.newId();
    const secret = formatKey(input.service, this.random(RANDOM_BYTES));
    const command: ApiKeyCommand = {
      kind: "create",
      keyId,
      ownerId: caller.viewer.userId,
      service: input.service,
      name: input.name,
      description: input.description,
      keyHash: hashKey(secret),
      display: displayParts(secret),
    };
    const decision = apiKeyDecider.decide(command, apiKeyDecider.initialState());
    if ("error" in decision) throw new DomainRejection(decision.error);
    await this.store.append(keyId, 0, decision.events.map(toNewEvent), metadataOf(caller));
    return { keyId, version: 1, secret };
  }

  setStatus(caller: Caller, keyId: string, status: KeyStatus, expectedVersion?: number | null) {
    return this.execute(caller, keyId, { kind: "setStatus", status }, expectedVersion);
  }

  update(caller: Caller, keyId: string, changes: { name?: string; description?: string | null }, expectedVersion?: number | null) {
    return this.execute(caller, keyId, { kind: "update", ...changes }, expectedVersion);
  }

  revoke(caller: Caller, keyId: string, reason?: string | null) {
    return this.execute(caller, keyId, { kind: "revoke", reason });
  }

  /** The key's state and version as its decision events say; undefined when unknown. */
  async load(keyId: string): Promise<{ state: ApiKeyStateOrNone; version: number }> {
    const events = await this.store.readStream(keyId, { decisionsOnly: true });
    let state = apiKeyDecider.initialState();
    for (const event of events) {
      state = apiKeyDecider.evolve(state, parseEvent(event.type, event.schemaVersion, event.data) as KeyDecisionEvent);
    }
    return { state, version: events.at(-1)?.streamVersion ?? 0 };
  }

  private async execute(caller: Caller, keyId: string, command: ApiKeyCommand, expectedVersion?: number | null): Promise<CommandResult> {
    if (!writesOwnKeys(caller.viewer)) throw new ForbiddenError("Changing keys needs the owner or admin role");
    for (let attempt = 1; ; attempt++) {
      const { state, version } = await this.load(keyId);
      if (!state || !mayChange(caller.viewer, state)) {
        throw new DomainRejection({ kind: "not_found" });
      }
      if (expectedVersion != null && expectedVersion !== version) {
        throw new ConcurrencyError(keyId, expectedVersion, version);
      }
      const decision = apiKeyDecider.decide(command, state);
      if ("error" in decision) throw new DomainRejection(decision.error);
      if (decision.events.length === 0) return { keyId, version };
      try {
        await this.store.append(keyId, version, decision.events.map(toNewEvent), metadataOf(caller));
        return { keyId, version: version + decision.events.length };
      } catch (error) {
        if (!(error instanceof ConcurrencyError) || expectedVersion != null || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }
}
