// A separate writer process for the concurrency tests: appends `count` events to streams of its own,
// `inFlight` appends at a time, through its own pool, then prints how many it committed.
import { openPostgres } from "../../src/db/postgres.js";
import { EventStore } from "../../src/eventstore/event-store.js";

const [url, prefix, count, inFlight] = process.argv.slice(2);
const db = await openPostgres({ url: url!, poolSize: Number(inFlight) });
const store = new EventStore(db);
let next = 0;
let committed = 0;
async function worker(): Promise<void> {
  while (next < Number(count)) {
    const n = next++;
    await store.append(`${prefix}-${n}`, 0, [{ type: "Written", schemaVersion: 1, data: { writer: prefix, n } }]);
    committed++;
  }
}
await Promise.all(Array.from({ length: Number(inFlight) }, worker));
await db.close();
process.stdout.write(JSON.stringify({ committed }) + "\n");
