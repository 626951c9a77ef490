import { builder } from "../builder.js";
import { badInput } from "../errors.js";
import { keyIdOf } from "../lib/api-key-id.js";
import { EXPECTED_VERSION_DESCRIPTION, expectedVersionArg } from "../lib/expected-version.js";
import { keyPayload } from "../lib/key-payload.js";
import { callerOf } from "../lib/viewer.js";

const UpdateApiKeyInput = builder.inputType("UpdateApiKeyInput", {
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string({ description: "Left unchanged when omitted" }),
    description: t.string({ description: "Left unchanged when omitted; null or empty clears it" }),
    expectedVersion: t.int({ description: EXPECTED_VERSION_DESCRIPTION }),
  }),
});

const UpdateApiKeyPayload = keyPayload("UpdateApiKeyPayload");

builder.mutationField("updateApiKey", (t) =>
  t.field({
    type: UpdateApiKeyPayload,
    args: { input: t.arg({ type: UpdateApiKeyInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      if (input.name === null) throw badInput("name", "name cannot be null; omit it to leave it unchanged");
      const changes = {
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
      };
      return ctx.commands.update(callerOf(ctx), keyIdOf(String(input.id)), changes, expectedVersionArg(input.expectedVersion));
    },
  }),
);
