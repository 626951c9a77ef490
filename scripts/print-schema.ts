import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { printSortedSchema } from "../src/graphql/schema.js";

// Written only when it changed: its modification time tells npm start whether the console is stale.
const file = new URL("../schema.graphql", import.meta.url);
const printed = printSortedSchema();
if (existsSync(file) && readFileSync(file, "utf8") === printed) console.log("schema.graphql is current");
else {
  writeFileSync(file, printed);
  console.log("schema.graphql written");
}
