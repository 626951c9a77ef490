import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { printSortedSchema } from "../src/graphql/schema.js";

describe("schema.graphql", () => {
  it("is the sorted print of the Pothos schema (run npm run schema when this fails)", () => {
    const committed = readFileSync(new URL("../schema.graphql", import.meta.url), "utf8");
    expect(committed).toBe(printSortedSchema());
  });

  it("names the front-end contract's types", () => {
    const sdl = printSortedSchema();
    for (const name of [
      "enum Service",
      "enum KeyStatus",
      "type ApiKey implements Node",
      "input CreateApiKeyInput",
      "type CreateApiKeyPayload",
      "input SetKeyStatusInput",
      "type SetKeyStatusPayload",
      "input UpdateApiKeyInput",
      "type UpdateApiKeyPayload",
      "input RevokeApiKeyInput",
      "type RevokeApiKeyPayload",
    ]) {
      expect(sdl).toContain(name);
    }
  });
});
