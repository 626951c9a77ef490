import { builder } from "../builder.js";
import { ServiceEnum } from "../enums/service.js";
import { CreditsInput, POLICY_FIELD_DESCRIPTIONS, policyChangesOf, RatelimitInput } from "../lib/policy-inputs.js";
import { callerOf } from "../lib/viewer.js";
import { loadVisibleKey } from "../nodes/api-key.js";

const CreateApiKeyInput = builder.inputType("CreateApiKeyInput", {
  fields: (t) => ({
    service: t.field({ type: ServiceEnum, required: true }),
    name: t.string({ required: true, description: "1 to 64 characters after trimming" }),
    description: t.string({ description: "At most 256 characters" }),
    expiresAt: t.field({ type: "DateTime", description: POLICY_FIELD_DESCRIPTIONS.expiresAt }),
    permissions: t.stringList({ description: POLICY_FIELD_DESCRIPTIONS.permissions }),
    meta: t.field({ type: "JSONObject", description: POLICY_FIELD_DESCRIPTIONS.meta }),
    ratelimits: t.field({ type: [RatelimitInput], description: POLICY_FIELD_DESCRIPTIONS.ratelimits }),
    credits: t.field({ type: CreditsInput, description: POLICY_FIELD_DESCRIPTIONS.credits }),
  }),
});

const CreateApiKeyPayload = builder.objectRef<{ keyId: string; secret: string }>("CreateApiKeyPayload").implement({
  fields: (t) => ({
    apiKey: t.prismaField({ type: "ApiKey", resolve: (query, payload, _args, ctx) => loadVisibleKey(ctx, payload.keyId, query) }),
    secret: t.exposeString("secret", { description: "The full key. Shown here once and never again: store it now." }),
  }),
});

builder.mutationField("createApiKey", (t) =>
  t.field({
    type: CreateApiKeyPayload,
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const { service, name, description, ...policies } = input;
      const { keyId, secret } = await ctx.commands.create(callerOf(ctx), { service, name, description, ...policyChangesOf(policies) });
      return { keyId, secret };
    },
  }),
);
