import { writeFileSync } from "node:fs";
import { printSortedSchema } from "../src/graphql/schema.js";

writeFileSync(new URL("../schema.graphql", import.meta.url), printSortedSchema());
console.log("schema.graphql written");
