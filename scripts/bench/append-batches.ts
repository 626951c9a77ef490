import { randomUUID } from "node:crypto";
import { ANY_VERSION, type AppendRequest } from "../../src/eventstore/types.js";

/** The group commit's shape: one KeyUsed fact per request, `batch` requests per transaction, cycling through `keys`. */
export function batchesFor(keys: string[], { events, batch }: { events: number; batch: number }): AppendRequest[][] {
  const batches: AppendRequest[][] = [];
  for (let i = 0; i < events; i += batch) {
    const usedAt = new Date();
    batches.push(
      Array.from({ length: Math.min(batch, events - i) }, (_, j) => {
        const keyId = keys[(i + j) % keys.length]!;
        return {
          streamId: keyId,
          expectedVersion: ANY_VERSION,
          events: [{ type: "KeyUsed", schemaVersion: 1, data: { keyId, service: "SMS", usedAt: usedAt.toISOString(), gatewayId: "bench-gateway" }, occurredAt: usedAt }],
          metadata: { actorId: "bench-gateway", actorRole: "gateway", requestId: randomUUID() },
        };
      }),
    );
  }
  return batches;
}

/** Runs `write` over every batch with `writers` concurrent writers; returns events per second. */
export async function driveWriters(writers: number, batches: AppendRequest[][], write: (batch: AppendRequest[], writer: number, index: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      while (next < batches.length) {
        const index = next++;
        await write(batches[index]!, writer, index);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return batches.reduce((n, b) => n + b.length, 0) / seconds;
}
