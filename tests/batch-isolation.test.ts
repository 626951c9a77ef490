import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Caller } from "../src/commands/api-keys.js";
import { GroupCommit } from "../src/lib/group-commit.js";
import type { RunningServer } from "../src/server/app.js";
import { CreateKeyDocument, VerifyDocument } from "./generated/graphql.js";
import { clientFor, expectCode } from "./support/clients.js";
import { backendName, createTestLocation, type TestDatabaseLocation } from "./support/databases.js";
import { startTestServer } from "./support/server.js";

describe("group commit", () => {
  it("retries a failed flush in halves, so only the entry that cannot be processed fails", async () => {
    const flushed: number[][] = [];
    const batches = new GroupCommit<number, number>(async (inputs) => {
      flushed.push(inputs);
      if (inputs.includes(13)) throw new Error("poisoned");
      return inputs.map((n) => n * 2);
    });
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, n) => batches.submit(n)));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(49);
    expect(results[13]).toMatchObject({ status: "rejected", reason: new Error("poisoned") });
    expect(results[14]).toEqual({ status: "fulfilled", value: 28 });
    expect(flushed[0]).toHaveLength(50);
    // Bisecting: a handful of flushes, not one per entry.
    expect(flushed.length).toBeLessThan(20);
  });

  it("does not split a batch whose failure would fail every part alike", async () => {
    let flushes = 0;
    const batches = new GroupCommit<number, number>(
      async () => {
        flushes++;
        throw new Error("database down");
      },
      { isolate: () => false },
    );
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, n) => batches.submit(n)));
    expect(results.every((r) => r.status === "rejected")).toBe(true);
    expect(flushes).toBe(1);
  });
});

describe(`a poisoned caller in a verification batch (${backendName})`, () => {
  let location: TestDatabaseLocation;
  let server: RunningServer;
  let secret: string;

  beforeAll(async () => {
    location = await createTestLocation();
    server = await startTestServer(location);
    const owner = await clientFor(server.url, "owner-1");
    const { createApiKey } = await owner.request(CreateKeyDocument, { input: { service: "SMS", name: "shared" } });
    secret = createApiKey.secret;
  });
  afterAll(async () => {
    await server?.stop();
    await location?.drop();
  });

  const keyUsedCount = async () =>
    (await server.services.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE type = 'KeyUsed'`)).rows[0]!.n;

  it("fails alone: 49 of 50 callers in one batch succeed when one's metadata cannot be stored", async () => {
    const before = await keyUsedCount();
    const gateway = (id: string, requestId: string): Caller => ({ viewer: { userId: id, roles: new Set(["gateway"]) }, requestId });
    // Submitted in one tick, so they share a batch. The request id is written into the event's metadata
    // and a lone surrogate cannot be stored in jsonb: without isolation the whole batch fails.
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => server.services.verifier.verify(gateway(`gw-${i}`, i === 7 ? "req-\ud800" : `req-${i}`), secret, "SMS")),
    );
    expect(results.filter((r) => r.status === "fulfilled" && r.value.code === "VALID")).toHaveLength(49);
    expect(results[7]!.status).toBe("rejected");
    expect(await keyUsedCount()).toBe(before + 49);
  });

  it("answers a gateway whose token subject holds a lone surrogate with UNAUTHENTICATED, and the others VALID", async () => {
    const before = await keyUsedCount();
    const poisoned = await clientFor(server.url, "gw-\ud800", ["gateway"]);
    const others = await Promise.all(Array.from({ length: 49 }, (_, i) => clientFor(server.url, `gw-${i}`, ["gateway"])));
    const verify = (client: typeof poisoned) => client.request(VerifyDocument, { input: { key: secret, service: "SMS" } });
    const [poisonedAnswer, ...answers] = await Promise.allSettled([expectCode(verify(poisoned), "UNAUTHENTICATED"), ...others.map(verify)]);
    expect(poisonedAnswer.status).toBe("fulfilled");
    expect(answers.filter((a) => a.status === "fulfilled" && a.value.verifyApiKey.code === "VALID")).toHaveLength(49);
    expect(await keyUsedCount()).toBe(before + 49);
  });
});
