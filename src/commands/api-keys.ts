import { randomBytes, randomUUID } from "node:crypto";
import { ForbiddenError } from "../auth/errors.js";
import type { Viewer } from "../auth/viewer.js";
import { mayChange, writesOwnKeys } from "../auth/visibility.js";
import type { SqlClient } from "../db/database.js";
import { apiKeyDecider, type ApiKeyCommand, type ApiKeyState, type ApiKeyStateOrNone } from "../domain/api-key.js";
import { DomainRejection } from "../domain/errors.js";
import { parseEvent, type KeyDecisionEvent } from "../domain/events.js";
import { displayParts, formatKey, hashKey, RANDOM_BYTES } from "../domain/key-format.js";
import type { PolicyChanges } from "../domain/policies/key-policies.js";
import type { KeyStatus, Service } from "../domain/services.js";
import { ConcurrencyError } from "../eventstore/errors.js";
import type { EventStore } from "../eventstore/event-store.js";
import { ANY_VERSION, type AppendRequest } from "../eventstore/types.js";
import { refillEvent } from "../domain/policies/credits.js";
import type { LimitsState } from "../domain/policies/limits.js";
import { foldKeys, KEY_DECISIONS } from "../projections/api-keys/fold.js";
import type { ApiKey } from "../projections/api-keys/row.js";
import { readLimits } from "../projections/key-limits/row.js";
import { isType, parseRecorded } from "../projections/parsed-event.js";
import { metadataOf, toNewEvent } from "./recording.js";

export interface Caller {
  viewer: Viewer;
  requestId: string;
}

export interface CommandResult {
  keyId: string;
  version: number;
}

export interface NewKeyInput extends PolicyChanges {
  service: Service;
  name: string;
  description?: string | null;
}

export interface KeyChanges {
  name?: string;
  description?: string | null;
  policies?: PolicyChanges;
}

export interface CommandOptions {
  random?: (size: number) => Uint8Array;
  newId?: () => string;
  clock?: () => Date;
}

const MAX_ATTEMPTS = 3;

/** A decision on one key: the events for its stream, and any other streams' appends it makes (a rotation creates a key). */
type Decided = { events: KeyDecisionEvent[]; alongside?: AppendRequest[] };

/**
 * Load a key's events, fold them into state, decide, append with the version decided on.
 * A caller that did not name an expectedVersion gets its command re-decided on a conflict;
 * one that did gets the ConcurrencyError. Every decision holds the key's stream lock from before
 * it reads the key (and its limits) until it commits, and answers once its events are sealed.
 */
export class ApiKeyCommands {
  private readonly random: (size: number) => Uint8Array;
  private readonly newId: () => string;
  private readonly clock: () => Date;

  constructor(
    private readonly store: EventStore,
    options: CommandOptions = {},
  ) {
    this.random = options.random ?? randomBytes;
    this.newId = options.newId ?? randomUUID;
    this.clock = options.clock ?? (() => new Date());
  }

  async create(caller: Caller, input: NewKeyInput) {
    if (!writesOwnKeys(caller.viewer)) throw new ForbiddenError("Creating keys needs the owner or admin role");
    const { service, name, description, ...policies } = input;
    const minted = this.mint(service);
    const command: ApiKeyCommand = {
      kind: "create",
      keyId: minted.keyId,
      ownerId: caller.viewer.userId,
      service,
      name,
      description,
      keyHash: minted.keyHash,
      display: minted.display,
      policies,
      now: this.clock().getTime(),
    };
    const decision = apiKeyDecider.decide(command, apiKeyDecider.initialState());
    if ("error" in decision) throw new DomainRejection(decision.error);
    const recorded = await this.store.append(minted.keyId, 0, decision.events.map(toNewEvent), metadataOf(caller));
    // The new key's row as the projection folds it: the answer needs no read after the commit, so a
    // database that goes away right after it cannot cost the caller the secret it will never see again.
    const rows = new Map<string, ApiKey>();
    for (const event of recorded) {
      const parsed = parseRecorded(event);
      if (isType(parsed, KEY_DECISIONS)) foldKeys(rows, parsed);
    }
    return { keyId: minted.keyId, version: 1, secret: minted.secret, key: rows.get(minted.keyId)! };
  }

  setStatus(caller: Caller, keyId: string, status: KeyStatus, expectedVersion?: number | null) {
    return this.execute(caller, keyId, expectedVersion, (state) => this.decide({ kind: "setStatus", status }, state));
  }

  update(caller: Caller, keyId: string, changes: KeyChanges, expectedVersion?: number | null) {
    const { policies, ...text } = changes;
    const touchesLimits = policies?.credits !== undefined || policies?.ratelimits !== undefined;
    return this.execute(
      caller,
      keyId,
      expectedVersion,
      (state) => this.decide(policies ? { kind: "update", ...text, policies, now: this.clock().getTime() } : { kind: "update", ...text }, state),
      touchesLimits,
    );
  }

  revoke(caller: Caller, keyId: string, reason?: string | null) {
    return this.execute(caller, keyId, undefined, (state) => this.decide({ kind: "revoke", reason }, state));
  }

  /** Adds (or, negative, removes) credits; the balance never goes below 0. A refill that is due is applied first. */
  addCredits(caller: Caller, keyId: string, amount: number, expectedVersion?: number | null) {
    return this.execute(
      caller,
      keyId,
      expectedVersion,
      (state, limits) => {
        const credits = limits?.credits;
        const refill = credits && refillEvent(keyId, credits, this.clock().getTime());
        const remaining = refill ? refill.data.remaining : (credits?.remaining ?? 0);
        const decided = this.decide({ kind: "addCredits", amount, remaining }, state);
        if (!refill) return decided;
        const fact: AppendRequest = { streamId: keyId, expectedVersion: ANY_VERSION, events: [toNewEvent(refill)], metadata: metadataOf(caller) };
        return { ...decided, alongside: [fact] };
      },
      true,
    );
  }

  /**
   * A new key with the old one's service, name, description, permissions, meta, rate limits and
   * credits (its balance and windows move to the new key, which the old one spends until its grace
   * period ends). Both appends are one transaction.
   */
  async rotate(caller: Caller, keyId: string, gracePeriodMs: number, expectedVersion?: number | null) {
    let secret = "";
    let newKeyId = "";
    const result = await this.execute(
      caller,
      keyId,
      expectedVersion,
      (state, limits) => {
        const remaining = limits?.credits?.remaining;
        const now = this.clock().getTime();
        const minted = this.mint(state.service);
        const rotated = this.decide({ kind: "rotate", toKeyId: minted.keyId, gracePeriodMs, now }, state);
        const { credits, ratelimits, permissions, meta } = state.policies;
        const created = this.decide(
          {
            kind: "create",
            keyId: minted.keyId,
            ownerId: state.ownerId,
            service: state.service,
            name: state.name,
            description: state.description,
            keyHash: minted.keyHash,
            display: minted.display,
            // The successor keeps the expiry too: rotating never extends a key's lifetime.
            policies: { expiresAt: state.policies.expiresAt, permissions, meta, ratelimits, credits: credits && { ...credits, remaining: remaining ?? credits.remaining } },
            rotatedFrom: keyId,
            now,
          },
          undefined,
        );
        secret = minted.secret;
        newKeyId = minted.keyId;
        // The new key's KeyCreated comes first in the log: the rotation then moves the old key's limits onto it.
        const alongside: AppendRequest = { streamId: minted.keyId, expectedVersion: 0, events: created.events.map(toNewEvent), metadata: metadataOf(caller) };
        return { events: rotated.events, alongside: [alongside] };
      },
      true,
    );
    return { previous: result, keyId: newKeyId, version: 1, secret };
  }

  /** The key's state and version as its decision events say; undefined when unknown. */
  async load(keyId: string, sql?: SqlClient): Promise<{ state: ApiKeyStateOrNone; version: number }> {
    const events = await this.store.readStream(keyId, { decisionsOnly: true, sql });
    let state = apiKeyDecider.initialState();
    for (const event of events) {
      state = apiKeyDecider.evolve(state, parseEvent(event.type, event.schemaVersion, event.data) as KeyDecisionEvent);
    }
    return { state, version: events.at(-1)?.streamVersion ?? 0 };
  }

  private mint(service: Service) {
    const secret = formatKey(service, this.random(RANDOM_BYTES));
    return { keyId: this.newId(), secret, keyHash: hashKey(secret), display: displayParts(secret) };
  }

  private decide(command: ApiKeyCommand, state: ApiKeyStateOrNone): Decided {
    const decision = apiKeyDecider.decide(command, state);
    if ("error" in decision) throw new DomainRejection(decision.error);
    return decision;
  }

  /**
   * `decide` gets the key's state and, with `readsLimits`, its limits (credit balance), both read
   * under the key's stream lock, which is held until the append commits.
   */
  private async execute(
    caller: Caller,
    keyId: string,
    expectedVersion: number | null | undefined,
    decide: (state: ApiKeyState, limits: LimitsState | undefined) => Decided,
    readsLimits = false,
  ): Promise<CommandResult> {
    if (!writesOwnKeys(caller.viewer)) throw new ForbiddenError("Changing keys needs the owner or admin role");
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.store.transaction(async (tx) => {
          await this.store.lockStreams(tx, [keyId]);
          const limits = readsLimits ? (await readLimits(tx, [keyId])).get(keyId) : undefined;
          const { state, version } = await this.load(keyId, tx);
          if (!state || !mayChange(caller.viewer, state)) throw new DomainRejection({ kind: "not_found" });
          if (expectedVersion != null && expectedVersion !== version) throw new ConcurrencyError(keyId, expectedVersion, version);
          const { events, alongside = [] } = decide(state, limits);
          if (events.length === 0) return { keyId, version };
          const own: AppendRequest = { streamId: keyId, expectedVersion: version, events: events.map(toNewEvent), metadata: metadataOf(caller) };
          await this.store.appendWithin(tx, [...alongside, own]);
          return { keyId, version: version + events.length };
        });
      } catch (error) {
        if (!(error instanceof ConcurrencyError) || expectedVersion != null || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }
}
