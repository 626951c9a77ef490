import { ForbiddenError } from "../auth/errors.js";
import { verifiesKeys } from "../auth/visibility.js";
import { isDatabaseUnavailable, type Database, type SqlClient } from "../db/database.js";
import { DomainRejection, invalid, type DomainError } from "../domain/errors.js";
import { checkCost, checkPermissions, POLICY_LIMITS } from "../domain/policies/validation.js";
import { hashKey, parseKey } from "../domain/key-format.js";
import type { LimitsState } from "../domain/policies/limits.js";
import type { KeyStatus, Service } from "../domain/services.js";
import { verdict, type VerifiableKey, type Verification, type VerificationRequest } from "../domain/verification.js";
import type { EventStore } from "../eventstore/event-store.js";
import { ANY_VERSION, type AppendRequest } from "../eventstore/types.js";
import { GroupCommit } from "../lib/group-commit.js";
import { groupCommitBatchSize, verifications } from "../observability/metrics.js";
import { forgetLimits, limitsColumns, rememberLimits, toLimits, type KeyLimitsSqlRow } from "../projections/key-limits/row.js";
import type { Caller } from "./api-keys.js";
import { metadataOf, toNewEvent } from "./recording.js";


/** What a gateway asks besides the key and its service. */
export type VerifyOptions = Pick<VerificationRequest, "permissions" | "cost" | "ratelimits">;

interface PendingVerification extends VerifyOptions {
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
  expires_at: Date | string | null;
  permissions: string[];
  meta: Record<string, unknown> | null;
  limits_key_id: string;
}

const verifiableKey = (row: KeyRow): VerifiableKey => ({
  keyId: row.id,
  ownerId: row.owner_id,
  service: row.service,
  status: row.status,
  expiresAt: row.expires_at === null ? null : new Date(row.expires_at).getTime(),
  permissions: row.permissions,
  meta: row.meta,
  limitsKeyId: row.limits_key_id,
});

const isMetered = (row: KeyLimitsSqlRow) => row.credits_remaining !== null || row.ratelimits.length > 0;

/** What is wrong with a request's options whatever the key, or undefined. */
function requestProblem(options: VerifyOptions): DomainError | undefined {
  if (options.cost != null) {
    const problem = checkCost("cost", options.cost);
    if (problem) return problem;
  }
  if (options.permissions) {
    const problem = checkPermissions("permissions", options.permissions);
    if (problem) return problem;
  }
  if (options.ratelimits) {
    if (options.ratelimits.length > POLICY_LIMITS.ratelimitsPerKey) return invalid("ratelimits", `at most ${POLICY_LIMITS.ratelimitsPerKey} rate limits`);
    for (const [index, limit] of options.ratelimits.entries()) {
      const problem = limit.cost != null ? checkCost(`ratelimits[${index}].cost`, limit.cost) : undefined;
      if (problem) return problem;
    }
  }
  return undefined;
}

/**
 * The batch cannot be decided on what it read: a key was rotated between finding it and locking
 * it (it now spends another account), or a decision about a key is committed but not yet sealed
 * into api_keys. The batch is decided again (after the sealer's next batch, for the latter).
 */
class DecideAgain extends Error {
  constructor(readonly afterSealing: boolean) {
    super("decide the batch again");
  }
}

type Outcome = Verification | DomainRejection;

type DecidedRow = KeyRow & KeyLimitsSqlRow & { undecided: boolean };

const keyHashesOf = (pending: PendingVerification[]) => [...new Set(pending.map((p) => p.keyHash))];

/** How many metered keys' hashes the verifier remembers (a hint of which path a batch takes). */
const METERED_HINTS = 10_000;

/**
 * The gateways' hot path. A malformed key or bad checksum is answered without the database.
 * Everything else is group-committed, one transaction per batch: find the batch's keys and lock
 * the accounts the metered ones spend (the event store's stream locks, the only locks a
 * verification takes), read their rows and limits, ask the domain for each request's verdict in order, append
 * every fact (which keeps key_limits); an answer is given once that commit is durable. The sealer
 * positions the facts and counts them in the read tables milliseconds later.
 */
export class KeyVerifier {
  private readonly batches: GroupCommit<PendingVerification, Outcome>;
  /** Hashes of keys last seen metered: a batch with one of them goes straight to the locking path. */
  private readonly meteredHints = new Set<string>();

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

  async verify(caller: Caller, key: string, service: Service, options: VerifyOptions = {}): Promise<Verification> {
    if (!verifiesKeys(caller.viewer)) throw new ForbiddenError("Verifying keys needs the gateway or admin role");
    const problem = requestProblem(options);
    if (problem) throw new DomainRejection(problem);
    const outcome = parseKey(key) ? await this.batches.submit({ keyHash: hashKey(key), service, caller, ...options }) : { code: "NOT_FOUND" as const };
    if (outcome instanceof DomainRejection) throw outcome;
    verifications.inc({ code: outcome.code });
    return outcome;
  }

  private async verifyBatch(pending: PendingVerification[]): Promise<Outcome[]> {
    if (!pending.some((p) => this.meteredHints.has(p.keyHash))) {
      const answers = await this.decideUnmetered(pending);
      if (answers) return answers;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.store.transaction((tx) => this.decideBatch(tx, pending), { awaitSealed: false });
      } catch (error) {
        if (!(error instanceof DecideAgain) || attempt >= 20) throw error;
        if (error.afterSealing) await this.store.sealingProgress();
      }
    }
  }

  /**
   * A batch of unmetered keys only decides on nothing another use changes, so it needs no lock and
   * no transaction: one read, then its facts in one statement (which takes the writers' shared lock).
   * A decision about a key committed between the two is ordered before the uses, as a use
   * committed under the locking path would be. Undefined when the batch needs that path: a key is
   * metered, rotated, or has a decision not yet sealed.
   */
  private async decideUnmetered(pending: PendingVerification[]): Promise<Outcome[] | undefined> {
    const rows = await this.readKeys(this.db, keyHashesOf(pending));
    for (const row of rows.filter(isMetered)) {
      if (this.meteredHints.size >= METERED_HINTS) this.meteredHints.clear();
      this.meteredHints.add(row.key_hash);
    }
    if (rows.some((row) => isMetered(row) || row.undecided || row.forwarded_to)) return undefined;
    const { answers, facts } = this.decide(pending, rows);
    if (facts.length > 0) await this.store.appendFacts(facts);
    return answers;
  }

  private async decideBatch(tx: SqlClient, pending: PendingVerification[]): Promise<Outcome[]> {
    const hashes = keyHashesOf(pending);
    const locked = await this.lockKeys(tx, hashes);
    // Read after the locks, in a statement of its own, so that it sees every write made under them.
    const rows = await this.readKeys(tx, hashes);
    // A decision about a key committed and not yet in api_keys (switched off, say): wait for it.
    if (rows.some((row) => row.undecided)) throw new DecideAgain(true);
    // A key that became metered, or was rotated onto another account, after the locks were taken.
    if (rows.some((row) => (isMetered(row) && !locked.has(row.limits_key_id)) || row.forwarded_to)) throw new DecideAgain(false);
    for (const row of rows) if (!isMetered(row)) this.meteredHints.delete(row.key_hash);
    const { answers, facts } = this.decide(pending, rows);
    if (facts.length === 0) return answers;
    rememberLimits(tx, rows); // read under the locks: the writers' projection starts from them
    try {
      await this.store.appendWithin(tx, facts);
    } finally {
      forgetLimits(tx);
    }
    return answers;
  }

  /** The batch's keys with their limits, and whether a decision about one is committed but not sealed. */
  private async readKeys(sql: SqlClient, hashes: string[]): Promise<DecidedRow[]> {
    const { rows } = await sql.query<DecidedRow>(
      `SELECT k.id::text AS id, k.owner_id, k.service, k.status, k.key_hash, k.expires_at, k.permissions, k.meta,
              k.limits_key_id::text AS limits_key_id, ${limitsColumns("l")},
              EXISTS (SELECT 1 FROM event_records r WHERE r.stream_id = k.id::text AND r.stream_version > k.version) AS undecided
         FROM api_keys k JOIN key_limits l ON l.key_id = k.limits_key_id
        WHERE k.key_hash = ANY($1::text[])`,
      [hashes],
    );
    return rows;
  }

  /** Each request's verdict in order, the accounts moving as the batch spends them, and the facts to append. */
  private decide(pending: PendingVerification[], rows: DecidedRow[]): { answers: Outcome[]; facts: AppendRequest[] } {
    const byHash = new Map(rows.map((row) => [row.key_hash, verifiableKey(row)]));
    const accounts = new Map<string, LimitsState | undefined>(rows.map((row) => [row.key_id, toLimits(row)]));
    const now = this.clock();
    const facts: AppendRequest[] = [];
    const answers = pending.map(({ keyHash, service, caller, permissions, cost, ratelimits }): Outcome => {
      const key = byHash.get(keyHash);
      const decided = verdict(key, key && accounts.get(key.limitsKeyId), { service, gatewayId: caller.viewer.userId, permissions, cost, ratelimits }, now);
      if ("error" in decided) return new DomainRejection(decided.error);
      if (key) accounts.set(key.limitsKeyId, decided.limits);
      for (const event of decided.events) {
        const fact = { ...toNewEvent(event), occurredAt: now };
        facts.push({ streamId: event.data.keyId, expectedVersion: ANY_VERSION, events: [fact], metadata: metadataOf(caller) });
      }
      return decided.verification;
    });
    return { answers, facts };
  }

  /**
   * Finds the keys by their hashes and locks the accounts the metered ones spend (credits or rate
   * limits), in one statement; returns what it locked. A use of an unmetered key decides on nothing
   * another use changes, so it takes no lock and verifications of it never wait on each other.
   */
  private async lockKeys(tx: SqlClient, hashes: string[]): Promise<Set<string>> {
    const locked = await this.store.lockStreamsOf(
      tx,
      `SELECT k.limits_key_id::text AS id FROM api_keys k JOIN key_limits l ON l.key_id = k.limits_key_id
        WHERE k.key_hash = ANY($1::text[]) AND (l.credits_remaining IS NOT NULL OR l.ratelimits <> '[]'::jsonb)`,
      [hashes],
    );
    return new Set(locked);
  }
}
