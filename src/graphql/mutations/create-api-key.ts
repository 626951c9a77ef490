import { builder } from "../builder.js";
import { ServiceEnum } from "../enums/service.js";
import { CreditsInput, POLICY_FIELD_DESCRIPTIONS, policyChangesOf, RatelimitInput } from "../lib/policy-inputs.js";
import { callerOf } from "../lib/viewer.js";
import type { ApiKey } from "../../db/generated/prisma/client.js";

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

const CreateApiKeyPayload = builder.objectRef<{ key: ApiKey; secret: string }>("CreateApiKeyPayload").implement({
  fields: (t) => ({
    // The row folded from the appended events (ApiKeyCommands.create), not read back: see there.
    apiKey: t.prismaField({ type: "ApiKey", resolve: (_query, payload) => payload.key }),
    secret: t.exposeString("secret", { description: "The full key. Shown here once and never again: store it now." }),
  }),
});

builder.mutationField("createApiKey", (t) =>
  t.field({
    type: CreateApiKeyPayload,
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const { service, name, description, ...policies } = input;
      const { key, secret } = await ctx.commands.create(callerOf(ctx), { service, name, description, ...policyChangesOf(policies) });
      return { key, secret };
    },
  }),
);
