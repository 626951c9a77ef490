import { AuthenticationError, ForbiddenError } from "../auth/errors.js";
import { hasRole } from "../auth/viewer.js";
import { isDatabaseUnavailable, type Database } from "../db/database.js";
import { CURRENT_SCHEMA_VERSION, type EventData } from "../domain/events.js";
import { hashKey, parseKey } from "../domain/key-format.js";
import type { KeyStatus, Service } from "../domain/services.js";
import type { EventStore } from "../eventstore/event-store.js";
import { ANY_VERSION, type AppendRequest } from "../eventstore/types.js";
import { groupCommitBatchSize, verifications } from "../observability/metrics.js";
import type { Caller } from "./api-keys.js";
import { GroupCommit } from "./group-commit.js";

export const VERIFY_CODES = ["VALID", "NOT_FOUND", "DISABLED", "REVOKED", "WRONG_SERVICE"] as const;
export type VerifyCode = (typeof VERIFY_CODES)[number];

export interface Verification {
  code: VerifyCode;
  keyId?: string;
  ownerId?: string;
}

const LONE_SURROGATE = /\p{Surrogate}/u;

interface PendingVerification {
  keyHash: string;
  service: Service;
  caller: Caller;
}

interface KeyRow {
  [column: string]: unknown;
  id: string;
  owner_id: string;
  service: Service;
  status: KeyStatus;
  key_hash: string;
}

/**
 * The gateways' hot path. A malformed key or bad checksum is answered without the database.
 * Everything else is group-committed: one lookup for the batch, then every VALID answer's
 * KeyUsed fact in one transaction; an answer is given only after that commit.
 */
export class KeyVerifier {
  private readonly batches: GroupCommit<PendingVerification, Verification>;

  constructor(
    private readonly db: Database,
    private readonly store: EventStore,
    private readonly clock: () => Date = () => new Date(),
    maxBatch = 500,
  ) {
    this.batches = new GroupCommit((pending) => this.verifyBatch(pending), {
      maxBatch,
      // An unreachable database fails every retry alike; anything else may be one caller's input.
      isolate: (error) => !isDatabaseUnavailable(error),
      onFlush: (size) => groupCommitBatchSize.observe(size),
    });
  }

  async verify(caller: Caller, key: string, service: Service): Promise<Verification> {
    if (!hasRole(caller.viewer, "gateway", "admin")) throw new ForbiddenError("Verifying keys needs the gateway or admin role");
    // The gateway's id is written into the log: text PostgreSQL cannot store is refused here, not in the batch.
    if (LONE_SURROGATE.test(caller.viewer.userId)) throw new AuthenticationError("The token's subject is not valid Unicode text");
    const verification = parseKey(key) ? await this.batches.submit({ keyHash: hashKey(key), service, caller }) : { code: "NOT_FOUND" as const };
    verifications.inc({ code: verification.code });
    return verification;
  }

  private async verifyBatch(pending: PendingVerification[]): Promise<Verification[]> {
    const { rows } = await this.db.query<KeyRow>(
      `SELECT id, owner_id, service, status, key_hash FROM api_keys WHERE key_hash = ANY($1::text[])`,
      [[...new Set(pending.map((p) => p.keyHash))]],
    );
    const byHash = new Map(rows.map((row) => [row.key_hash, row]));
    const usedAt = this.clock();
    const facts: AppendRequest[] = [];
    const answers = pending.map((p): Verification => {
      const key = byHash.get(p.keyHash);
      if (!key) return { code: "NOT_FOUND" };
      const found = { keyId: key.id, ownerId: key.owner_id };
      if (key.service !== p.service) return { code: "WRONG_SERVICE", ...found };
      if (key.status === "REVOKED") return { code: "REVOKED", ...found };
      if (key.status === "INACTIVE") return { code: "DISABLED", ...found };
      const data: EventData<"KeyUsed"> = { keyId: key.id, service: key.service, usedAt: usedAt.toISOString(), gatewayId: p.caller.viewer.userId };
      facts.push({
        streamId: key.id,
        expectedVersion: ANY_VERSION,
        events: [{ type: "KeyUsed", schemaVersion: CURRENT_SCHEMA_VERSION.KeyUsed, data, occurredAt: usedAt }],
        metadata: { actorId: p.caller.viewer.userId, actorRole: "gateway", requestId: p.caller.requestId },
      });
      return { code: "VALID", ...found };
    });
    if (facts.length > 0) await this.store.appendMany(facts);
    return answers;
  }
}
