import { ClientError, type GraphQLClient } from "graphql-request";
import { CreateKeyDocument, VerifyDocument } from "../generated/graphql.js";

/** What clients saw during a load: every VALID answer per key, acknowledged creates, and every failure. */
export interface Tally {
  valid: Map<string, number>;
  /** When each VALID answer arrived (performance.now()). */
  validTimes: number[];
  created: number;
  /** Error codes (or non-VALID verify codes) and how often each was answered. */
  codes: Map<string, number>;
  /** Requests that got no GraphQL answer at all (the server was gone). */
  transport: number;
  inFlight: number;
}

export function newTally(): Tally {
  return { valid: new Map(), validTimes: [], created: 0, codes: new Map(), transport: 0, inFlight: 0 };
}

export const totalValid = (tally: Tally) => [...tally.valid.values()].reduce((a, b) => a + b, 0);

function count(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

async function attempt(tally: Tally, request: () => Promise<string | undefined>): Promise<void> {
  tally.inFlight++;
  try {
    const code = await request();
    if (code) count(tally.codes, code);
  } catch (error) {
    if (error instanceof ClientError && error.response.errors?.length) {
      count(tally.codes, String(error.response.errors[0]!.extensions?.code ?? "NO_CODE"));
    } else {
      tally.transport++;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    tally.inFlight--;
  }
}

/** A gateway verifying keys in a loop until `until()`; `keys` maps each secret to its key id. */
export async function verifyLoop(gateway: GraphQLClient, keys: Array<{ secret: string; keyId: string }>, tally: Tally, until: () => boolean): Promise<void> {
  for (let i = 0; !until(); i++) {
    const { secret, keyId } = keys[i % keys.length]!;
    await attempt(tally, async () => {
      const { code } = (await gateway.request(VerifyDocument, { input: { key: secret, service: "SMS" } })).verifyApiKey;
      if (code !== "VALID") return code;
      tally.valid.set(keyId, (tally.valid.get(keyId) ?? 0) + 1);
      tally.validTimes.push(performance.now());
      return undefined;
    });
  }
}

/** An owner creating keys in a loop until `until()`. */
export async function createLoop(owner: GraphQLClient, name: string, tally: Tally, until: () => boolean): Promise<void> {
  for (let i = 0; !until(); i++) {
    await attempt(tally, async () => {
      await owner.request(CreateKeyDocument, { input: { service: "SMS", name: `${name}-${i}` } });
      tally.created++;
      return undefined;
    });
  }
}

/** The raw key id behind a global ApiKey ID. */
export function rawKeyId(globalId: string): string {
  return Buffer.from(globalId, "base64").toString().split(":")[1]!;
}
