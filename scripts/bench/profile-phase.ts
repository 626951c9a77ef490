// Not a benchmark: where one kind of request's CPU goes while autocannon sends it. Prints the CPU per
// request of the server process, of autocannon and (on a local throwaway cluster: KEYLEDGER_PG_DIR) of
// PostgreSQL; with an output file, also writes a CPU profile of the server's thread (which slows it).
//   tsx scripts/bench/profile-phase.ts <trivial|graphql|json> <seconds> [out.cpuprofile]
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { groupCommitBatchSize } from "../../src/observability/metrics.js";
import { clusterFromEnv, createKeys, createLocation, outputOf, runChild, startBenchServer, tokenFor } from "./common.js";

const [kind = "graphql", seconds = "8", out] = process.argv.slice(2);

/** utime+stime (and, with `reaped`, of waited-for children), in clock ticks, from /proc/<pid>/stat. */
function cpuTicks(pid: number | "self", reaped: boolean): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "").split(" ").map(Number);
  return fields[11]! + fields[12]! + (reaped ? fields[13]! + fields[14]! : 0);
}

/** The local cluster's postmaster with its live backends and those that ended (reaped by it). */
function postgresTicks(): number | undefined {
  const dir = process.env.DATABASE_URL ? process.env.KEYLEDGER_PG_DIR : undefined;
  if (!dir) return undefined;
  const postmaster = Number(readFileSync(`${dir}/data/postmaster.pid`, "utf8").split("\n")[0]);
  const backends = readdirSync("/proc").filter((name) => /^\d+$/.test(name)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "").split(" ")[1] === String(postmaster);
    } catch {
      return false; // ended meanwhile
    }
  });
  return cpuTicks(postmaster, true) + backends.reduce((sum, pid) => sum + cpuTicks(Number(pid), false), 0);
}

function cpuNow() {
  return { server: cpuTicks("self", false), cannon: cpuTicks("self", true) - cpuTicks("self", false), postgres: postgresTicks() };
}

const location = await createLocation(clusterFromEnv());
const server = await startBenchServer(location);
const keys = await createKeys(server.url, 20);
const gateway = await tokenFor("bench-gateway", ["gateway"]);
const VERIFY = "mutation($input: VerifyApiKeyInput!) { verifyApiKey(input: $input) { code valid keyId } }";
const origin = new URL(server.url).origin;
const job =
  kind === "trivial"
    ? { url: server.url, token: gateway, bodies: [JSON.stringify({ query: "{ __typename }" })], connections: 50 }
    : kind === "json"
      ? { url: origin, token: gateway, connections: 50, requests: keys.map((k) => ({ method: "POST", path: "/v1/keys.verify", headers: { "content-type": "application/json", authorization: `Bearer ${gateway}` }, body: JSON.stringify({ key: k.secret, service: "SMS" }) })) }
      : { url: server.url, token: gateway, connections: 50, bodies: keys.map((k) => JSON.stringify({ query: VERIFY, variables: { input: { key: k.secret, service: "SMS" } } })) };
await outputOf(runChild("./cannon.ts", [JSON.stringify({ ...job, duration: 2 })])); // warm-up
const batches = async () => {
  const values = (await groupCommitBatchSize.get()).values;
  return { sum: values.find((v) => v.metricName?.endsWith("_sum"))?.value ?? 0, count: values.find((v) => v.metricName?.endsWith("_count"))?.value ?? 0 };
};
const before = await batches();
const session = new Session();
if (out) {
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
}
const cpuBefore = cpuNow();
const result = await outputOf(runChild("./cannon.ts", [JSON.stringify({ ...job, duration: Number(seconds) })]));
const cpuAfter = cpuNow();
if (out) {
  const { profile } = await session.post("Profiler.stop");
  writeFileSync(out, JSON.stringify(profile));
}
const after = await batches();
const perSecond = JSON.parse(result).perSecond as number;
const requests = perSecond * Number(seconds);
const microsPerRequest = (from: number | undefined, to: number | undefined) =>
  from === undefined || to === undefined ? "n/a" : `${Math.round(((to - from) * 1e6) / 100 / requests)} µs`; // 100 ticks per second
const flushes = after.count - before.count;
console.log(`${Math.round(perSecond)} req/s; mean group-commit batch ${flushes > 0 ? ((after.sum - before.sum) / flushes).toFixed(1) : "n/a (none)"}`);
console.log(
  `CPU per request: server ${microsPerRequest(cpuBefore.server, cpuAfter.server)}, autocannon ${microsPerRequest(cpuBefore.cannon, cpuAfter.cannon)},` +
    ` PostgreSQL ${microsPerRequest(cpuBefore.postgres, cpuAfter.postgres)}`,
);
await server.stop();
await location.drop();
