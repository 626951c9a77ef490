// npm run bench:fanout [-- --backend both|postgres|pglite] [--clients 1000] [--events 200] [--rate 50] [--write]
// A real server per backend; 1,000 graphql-ws subscribers of keyUsed (admin token) in a child process;
// then `events` verifications paced at `rate` per second, one at a time, so the i-th KeyUsed is the
// i-th verification's. Per event and subscriber: the time from the verify response (after the commit)
// and from the event's usedAt (before the commit) to receipt; target p99 < 250 ms. Every subscriber
// must receive every event, in order, once.
// PostgreSQL: DATABASE_URL when set (a database of its own is created on it), else a throwaway cluster.
import { createInterface } from "node:readline";
import type { FanoutStats } from "./fanout-clients.js";
import {
  createKeys,
  createLocation,
  fmt,
  graphql,
  machine,
  markdownTable,
  runChild,
  sleep,
  startBenchServer,
  tokenFor,
  type Backend,
  type Cluster,
} from "./common.js";
import { runBenchmark, type OptionValues } from "./harness.js";

const OPTIONS = { clients: 1000, events: 200, rate: 50 };
type Options = OptionValues<typeof OPTIONS>;
const TARGET_P99 = 250;
const VERIFY = "mutation($input: VerifyApiKeyInput!) { verifyApiKey(input: $input) { code } }";

interface BackendResult {
  backend: Backend;
  stats: FanoutStats;
  subscribeSeconds: number;
  verifyP50: number;
}

async function runOn(backend: Backend, cluster: Cluster | undefined, { clients: CLIENTS, events: EVENTS, rate: RATE }: Options): Promise<BackendResult> {
  const location = await createLocation(backend === "postgres" ? cluster : undefined);
  const server = await startBenchServer(location);
  const url = server.url.replace("localhost", "127.0.0.1");
  const child = runChild("./fanout-clients.ts", [url.replace(/^http/, "ws"), await tokenFor("bench-admin", ["admin"]), String(CLIENTS)]);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  try {
    const keys = await createKeys(url, 10);
    const gateway = await tokenFor("bench-gateway", ["gateway"]);
    const follower = server.services.follower;
    const subscribing = performance.now();
    const base = follower.subscriptionsStarted;
    while (follower.subscriptionsStarted - base < CLIENTS) {
      if (performance.now() - subscribing > 60_000) throw new Error(`only ${follower.subscriptionsStarted - base} of ${CLIENTS} subscribed after 60 s`);
      await sleep(100);
    }
    const subscribeSeconds = (performance.now() - subscribing) / 1000;
    await sleep(500);

    const head = (await server.services.store.head()).position;
    const responded: number[] = [];
    const verifyTimes: number[] = [];
    const started = performance.now();
    for (let i = 0; i < EVENTS; i++) {
      const due = started + (i * 1000) / RATE;
      if (due > performance.now()) await sleep(due - performance.now());
      const sent = performance.now();
      const data = await graphql<{ verifyApiKey: { code: string } }>(url, gateway, VERIFY, { input: { key: keys[i % keys.length]!.secret, service: "SMS" } });
      if (data.verifyApiKey.code !== "VALID") throw new Error(`verification ${i} answered ${data.verifyApiKey.code}`);
      responded.push(performance.timeOrigin + performance.now());
      verifyTimes.push(performance.now() - sent);
    }
    const events = (await server.services.store.readAll(head, EVENTS + 1)).filter((e) => e.type === "KeyUsed");
    if (events.length !== EVENTS) throw new Error(`expected ${EVENTS} KeyUsed events, found ${events.length}`);
    const positions = events.map((e) => e.position.toString());
    const committed = Object.fromEntries(positions.map((p, i) => [p, responded[i]!]));
    const usedAt = Object.fromEntries(events.map((e) => [e.position.toString(), Date.parse((e.data as { usedAt: string }).usedAt)]));
    child.stdin!.write(JSON.stringify({ positions, committed, usedAt }) + "\n");
    const line = await lines.next();
    if (line.done) throw new Error("the subscriber process ended without statistics");
    verifyTimes.sort((a, b) => a - b);
    return { backend, stats: JSON.parse(line.value) as FanoutStats, subscribeSeconds, verifyP50: verifyTimes[Math.floor(verifyTimes.length / 2)]! };
  } finally {
    child.kill();
    await server.stop();
    await location.drop();
  }
}

function report(results: BackendResult[], { clients: CLIENTS, events: EVENTS, rate: RATE }: Options): string {
  const rows = results.map((r) => {
    const s = r.stats;
    // Judged on the conservative measure: usedAt is read before the commit, so this includes the commit itself.
    const met = s.fromUsedAt.p99 < TARGET_P99 && s.complete === s.clients;
    return [
      r.backend,
      `${fmt(s.connected)} / ${fmt(s.clients)}`,
      `${fmt(s.complete)} / ${fmt(s.clients)}`,
      `${fmt(s.missing)} missing, ${fmt(s.duplicatesOrOutOfOrder)} out of order`,
      `${fmt(s.fromResponse.p50, 1)} / ${fmt(s.fromResponse.p99, 1)} / ${fmt(s.fromResponse.max, 1)}`,
      `${fmt(s.fromUsedAt.p50, 1)} / ${fmt(s.fromUsedAt.p99, 1)}`,
      met ? "met" : "**missed**",
    ];
  });
  return [
    `Command: \`npm run bench:fanout\`: ${fmt(CLIENTS)} graphql-ws subscribers of \`keyUsed\` (admin token) in a child process, then ${EVENTS} verifications`,
    `paced at ${RATE}/s, one at a time; latency per (subscriber, event), from the verify response (after the commit) and from the event's usedAt (read before the commit).`,
    `Machine: ${machine()}.`,
    "",
    markdownTable(
      ["backend", "connected", "got all, in order", "gaps", "ms from response p50 / p99 / max", "ms from usedAt p50 / p99", "usedAt p99 < 250 ms, none missed"],
      rows,
    ),
    "",
    ...results.map((r) => `- ${r.backend}: ${fmt(CLIENTS)} subscriptions attached in ${fmt(r.subscribeSeconds, 1)} s; verify round trip p50 ${fmt(r.verifyP50, 1)} ms${r.stats.errors.length ? `; errors: ${r.stats.errors.join("; ")}` : ""}.`),
  ].join("\n");
}

await runBenchmark({
  name: "fanout",
  usage: "[--clients 1000] [--events 200] [--rate 50]",
  options: OPTIONS,
  backends: ["postgres", "pglite"],
  async measure({ opts, cluster, eachBackend }) {
    const results = await eachBackend((backend) => runOn(backend, cluster, opts));
    return { markdown: report(results, opts), ok: results.every((r) => r.stats.complete === r.stats.clients) };
  },
});
