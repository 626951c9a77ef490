// npm run build:pglite-seed (part of npm install's build): a freshly initialised PGlite data
// folder as a tarball. A first start on the embedded default loads it instead of running initdb,
// which is most of a first start's time (docs/BENCHMARKS.md, start-up). Migrations are not in it:
// they run at start as on any database.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLITE_SEED } from "../src/db/pglite.js";

const pglite = await PGlite.create();
const tarball = await pglite.dumpDataDir("none");
await pglite.close();
mkdirSync(dirname(PGLITE_SEED), { recursive: true });
writeFileSync(PGLITE_SEED, Buffer.from(await tarball.arrayBuffer()));
