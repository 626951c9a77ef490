// The subscribers of bench:fanout, in a process of their own: N graphql-ws clients subscribed to
// keyUsed, each noting every event's position and its receipt time. On a JSON line on stdin
// ({ positions, committed: { [position]: epochMs }, usedAt: { [position]: epochMs } }) it waits until
// every client has every position (or 15 s), then prints one JSON line of statistics.
//   tsx scripts/bench/fanout-clients.ts <ws url> <token> <clients>
import { createInterface } from "node:readline";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

export interface FanoutStats {
  clients: number;
  connected: number;
  expectedPerClient: number;
  /** Clients that received exactly the expected positions, in order, once each. */
  complete: number;
  missing: number;
  duplicatesOrOutOfOrder: number;
  errors: string[];
  /** Milliseconds from the verify response to receipt, over every (client, event). */
  fromResponse: { p50: number; p99: number; max: number };
  /** Milliseconds from the KeyUsed event's usedAt (read before the commit) to receipt. */
  fromUsedAt: { p50: number; p99: number; max: number };
}

const [url, token, count] = process.argv.slice(2);
const clients = Number(count);
const now = () => performance.timeOrigin + performance.now();
const received: Array<Array<{ position: string; at: number }>> = Array.from({ length: clients }, () => []);
const errors: string[] = [];
let connected = 0;

const sockets = Array.from({ length: clients }, (_, i) => {
  const client = createClient({
    url: url!,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${token}` },
    on: { connected: () => connected++ },
  });
  client.subscribe<{ keyUsed: { position: string } }>(
    { query: "subscription { keyUsed { position usedAt } }" },
    {
      next: (result) => {
        if (result.data) received[i]!.push({ position: result.data.keyUsed.position, at: now() });
        if (result.errors) errors.push(JSON.stringify(result.errors));
      },
      error: (error) => errors.push(String((error as Error).message ?? (error as { reason?: string }).reason ?? error)),
      complete: () => {},
    },
  );
  return client;
});

const summary = (values: number[]) => {
  values.sort((a, b) => a - b);
  const at = (p: number) => values[Math.min(values.length - 1, Math.max(0, Math.ceil((p / 100) * values.length) - 1))] ?? NaN;
  return { p50: at(50), p99: at(99), max: values.at(-1) ?? NaN };
};

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line === "status") {
    process.stdout.write(JSON.stringify({ connected }) + "\n");
    continue;
  }
  const { positions, committed, usedAt } = JSON.parse(line) as { positions: string[]; committed: Record<string, number>; usedAt: Record<string, number> };
  const deadline = Date.now() + 15_000;
  while (received.some((r) => r.length < positions.length) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const fromResponse: number[] = [];
  const fromUsedAt: number[] = [];
  let complete = 0;
  let missing = 0;
  let disorder = 0;
  for (const events of received) {
    const got = events.map((e) => e.position);
    if (got.length === positions.length && got.every((p, i) => p === positions[i])) complete++;
    const seen = new Set(got);
    missing += positions.filter((p) => !seen.has(p)).length;
    disorder += got.filter((p, i) => i > 0 && BigInt(p) <= BigInt(got[i - 1]!)).length + (got.length - seen.size);
    for (const e of events) {
      if (committed[e.position] !== undefined) fromResponse.push(e.at - committed[e.position]!);
      if (usedAt[e.position] !== undefined) fromUsedAt.push(e.at - usedAt[e.position]!);
    }
  }
  const stats: FanoutStats = {
    clients,
    connected,
    expectedPerClient: positions.length,
    complete,
    missing,
    duplicatesOrOutOfOrder: disorder,
    errors: errors.slice(0, 5),
    fromResponse: summary(fromResponse),
    fromUsedAt: summary(fromUsedAt),
  };
  process.stdout.write(JSON.stringify(stats) + "\n");
  break;
}
await Promise.all(sockets.map((c) => c.dispose()));
process.exit(0);
