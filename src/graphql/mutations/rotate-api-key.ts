import { builder } from "../builder.js";
import { keyIdOf } from "../lib/api-key-id.js";
import { EXPECTED_VERSION_DESCRIPTION, expectedVersionArg } from "../lib/expected-version.js";
import { callerOf } from "../lib/viewer.js";
import { loadVisibleKey } from "../nodes/api-key.js";

const RotateApiKeyInput = builder.inputType("RotateApiKeyInput", {
  fields: (t) => ({
    id: t.id({ required: true }),
    gracePeriodMs: t.int({ description: "How long the previous key keeps answering: 0 (default, at once) to 604800000 (7 days)" }),
    expectedVersion: t.int({ description: EXPECTED_VERSION_DESCRIPTION }),
  }),
});

const RotateApiKeyPayload = builder.objectRef<{ keyId: string; secret: string; previousKeyId: string }>("RotateApiKeyPayload").implement({
  fields: (t) => ({
    apiKey: t.prismaField({ type: "ApiKey", description: "The new key", resolve: (query, p, _args, ctx) => loadVisibleKey(ctx, p.keyId, query) }),
    secret: t.exposeString("secret", { description: "The new key in full. Shown here once and never again: store it now." }),
    previous: t.prismaField({
      type: "ApiKey",
      description: "The rotated key: it expires when the grace period ends",
      resolve: (query, p, _args, ctx) => loadVisibleKey(ctx, p.previousKeyId, query),
    }),
  }),
});

builder.mutationField("rotateApiKey", (t) =>
  t.field({
    type: RotateApiKeyPayload,
    description:
      "A new key with the same service, name, description, permissions, meta, rate limits, credits and expiry. The previous key spends the new key's credits and limits until its grace period ends, then answers EXPIRED. A revoked, expired, switched-off or already rotated key is CONFLICT.",
    args: { input: t.arg({ type: RotateApiKeyInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const previousKeyId = keyIdOf(String(input.id));
      const rotated = await ctx.commands.rotate(callerOf(ctx), previousKeyId, input.gracePeriodMs ?? 0, expectedVersionArg(input.expectedVersion));
      return { keyId: rotated.keyId, secret: rotated.secret, previousKeyId };
    },
  }),
);
