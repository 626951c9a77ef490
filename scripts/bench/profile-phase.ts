// Not a benchmark: a CPU profile of the server's thread while autocannon sends one kind of request.
//   tsx scripts/bench/profile-phase.ts <trivial|graphql|json> <seconds> <out.cpuprofile>
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { groupCommitBatchSize } from "../../src/observability/metrics.js";
import { clusterFromEnv, createKeys, createLocation, outputOf, runChild, startBenchServer, tokenFor } from "./common.js";

const [kind = "graphql", seconds = "8", out = "/tmp/phase.cpuprofile"] = process.argv.slice(2);
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
session.connect();
await session.post("Profiler.enable");
await session.post("Profiler.start");
const result = await outputOf(runChild("./cannon.ts", [JSON.stringify({ ...job, duration: Number(seconds) })]));
const { profile } = await session.post("Profiler.stop");
writeFileSync(out, JSON.stringify(profile));
const after = await batches();
console.log(JSON.parse(result).perSecond, "req/s; mean batch", (after.sum - before.sum) / (after.count - before.count));
await server.stop();
await location.drop();
