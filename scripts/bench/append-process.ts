// One of bench:append's "ours ×2 processes" writers: a process of its own with its own store (and
// sealer candidate) on the benchmark's database, appending facts as the verifier does.
//   tsx scripts/bench/append-process.ts '{"url":…,"writers":4,"events":15000,"batch":50,"keys":[…]}'
// Prints "ready" once connected, appends when it reads "go", prints its commit rate as one JSON
// line, and keeps its sealer running until it reads "stop" (or stdin ends).
import { createInterface } from "node:readline";
import { openPostgres } from "../../src/db/postgres.js";
import { EventStore } from "../../src/eventstore/event-store.js";
import { projections } from "../../src/projections/index.js";
import { batchesFor, driveWriters } from "./append-batches.js";

interface Job {
  url: string;
  writers: number;
  events: number;
  batch: number;
  keys: string[];
}

const job = JSON.parse(process.argv[2]!) as Job;
const db = await openPostgres({ url: job.url, poolSize: job.writers + 1 });
const store = new EventStore(db, projections);
const batches = batchesFor(job.keys, job);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
console.log("ready");
await lines.next(); // go
const rate = await driveWriters(job.writers, batches, (batch) => store.appendFacts(batch));
console.log(JSON.stringify({ rate }));
await lines.next(); // stop
await store.close();
await db.close();
