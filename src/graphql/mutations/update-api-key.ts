import { builder } from "../builder.js";
import { badInput } from "../errors.js";
import { keyIdOf } from "../lib/api-key-id.js";
import { EXPECTED_VERSION_DESCRIPTION, expectedVersionArg } from "../lib/expected-version.js";
import { keyPayload } from "../lib/key-payload.js";
import { CreditsInput, POLICY_FIELD_DESCRIPTIONS, policyChangesOf, RatelimitInput } from "../lib/policy-inputs.js";
import { callerOf } from "../lib/viewer.js";

const UpdateApiKeyInput = builder.inputType("UpdateApiKeyInput", {
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string({ description: "Left unchanged when omitted" }),
    description: t.string({ description: "Left unchanged when omitted; null or empty clears it" }),
    expiresAt: t.field({ type: "DateTime", description: `${POLICY_FIELD_DESCRIPTIONS.expiresAt}. Omitted: unchanged; null: never expires` }),
    permissions: t.stringList({ description: `${POLICY_FIELD_DESCRIPTIONS.permissions}. Replaces the set` }),
    meta: t.field({ type: "JSONObject", description: `${POLICY_FIELD_DESCRIPTIONS.meta}. Replaces it; null clears it` }),
    ratelimits: t.field({ type: [RatelimitInput], description: `${POLICY_FIELD_DESCRIPTIONS.ratelimits}. Replaces the set; windows of limits kept by name carry on` }),
    credits: t.field({ type: CreditsInput, description: "Sets the balance and refill; null removes credits (the key is no longer metered)" }),
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
      const { id: _id, name, description, expectedVersion: _version, ...policyFields } = input;
      const policies = policyChangesOf(policyFields);
      const changes = {
        ...(name !== undefined ? { name } : {}),
        ...(description !== undefined ? { description } : {}),
        ...(Object.keys(policies).length > 0 ? { policies } : {}),
      };
      return ctx.commands.update(callerOf(ctx), keyIdOf(String(input.id)), changes, expectedVersionArg(input.expectedVersion));
    },
  }),
);
