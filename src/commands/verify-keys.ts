import { ForbiddenError } from "../auth/errors.js";
import { verifiesKeys } from "../auth/visibility.js";
import type { Database } from "../db/database.js";
import { hashKey, parseKey } from "../domain/key-format.js";
import type { KeyStatus, Service } from "../domain/services.js";
import { verdict, type VerifiableKey, type Verification } from "../domain/verification.js";
import type { EventStore } from "../eventstore/event-store.js";
import { ANY_VERSION, type AppendRequest } from "../eventstore/types.js";
import type { Caller } from "./api-keys.js";
import { GroupCommit } from "./group-commit.js";
import { metadataOf, toNewEvent } from "./recording.js";

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

const verifiableKey = (row: KeyRow): VerifiableKey => ({ keyId: row.id, ownerId: row.owner_id, service: row.service, status: row.status });

/**
 * The gateways' hot path. A malformed key or bad checksum is answered without the database.
 * Everything else is group-committed: one lookup for the batch, the domain's verdict for each
 * request, then every VALID answer's KeyUsed fact in one transaction; an answer is given only
 * after that commit.
 */
export class KeyVerifier {
  private readonly batches: GroupCommit<PendingVerification, Verification>;

  constructor(
    private readonly db: Database,
    private readonly store: EventStore,
    private readonly clock: () => Date = () => new Date(),
    maxBatch = 500,
  ) {
    this.batches = new GroupCommit((pending) => this.verifyBatch(pending), maxBatch);
  }

  async verify(caller: Caller, key: string, service: Service): Promise<Verification> {
    if (!verifiesKeys(caller.viewer)) throw new ForbiddenError("Verifying keys needs the gateway or admin role");
    if (!parseKey(key)) return { code: "NOT_FOUND" };
    return this.batches.submit({ keyHash: hashKey(key), service, caller });
  }

  private async verifyBatch(pending: PendingVerification[]): Promise<Verification[]> {
    const { rows } = await this.db.query<KeyRow>(
      `SELECT id, owner_id, service, status, key_hash FROM api_keys WHERE key_hash = ANY($1::text[])`,
      [[...new Set(pending.map((p) => p.keyHash))]],
    );
    const byHash = new Map(rows.map((row) => [row.key_hash, verifiableKey(row)]));
    const now = this.clock();
    const facts: AppendRequest[] = [];
    const answers = pending.map(({ keyHash, service, caller }) => {
      const { verification, events } = verdict(byHash.get(keyHash), { service, gatewayId: caller.viewer.userId }, now);
      for (const event of events) {
        const fact = { ...toNewEvent(event), occurredAt: now };
        facts.push({ streamId: event.data.keyId, expectedVersion: ANY_VERSION, events: [fact], metadata: metadataOf(caller) });
      }
      return verification;
    });
    if (facts.length > 0) await this.store.appendMany(facts);
    return answers;
  }
}
