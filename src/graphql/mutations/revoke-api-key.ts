import { builder } from "../builder.js";
import { keyIdOf } from "../lib/api-key-id.js";
import { keyPayload } from "../lib/key-payload.js";
import { callerOf } from "../lib/viewer.js";

const RevokeApiKeyInput = builder.inputType("RevokeApiKeyInput", {
  fields: (t) => ({
    id: t.id({ required: true }),
    reason: t.string({ description: "At most 256 characters" }),
  }),
});

const RevokeApiKeyPayload = keyPayload("RevokeApiKeyPayload");

builder.mutationField("revokeApiKey", (t) =>
  t.field({
    type: RevokeApiKeyPayload,
    args: { input: t.arg({ type: RevokeApiKeyInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.commands.revoke(callerOf(ctx), keyIdOf(String(input.id)), input.reason),
  }),
);
