import { builder } from "../builder.js";
import { KeyStatusEnum } from "../enums/key-status.js";
import { keyIdOf } from "../lib/api-key-id.js";
import { EXPECTED_VERSION_DESCRIPTION, expectedVersionArg } from "../lib/expected-version.js";
import { keyPayload } from "../lib/key-payload.js";
import { callerOf } from "../lib/viewer.js";

const SetKeyStatusInput = builder.inputType("SetKeyStatusInput", {
  fields: (t) => ({
    id: t.id({ required: true }),
    status: t.field({ type: KeyStatusEnum, required: true, description: "ACTIVE or INACTIVE; use revokeApiKey to revoke" }),
    expectedVersion: t.int({ description: EXPECTED_VERSION_DESCRIPTION }),
  }),
});

const SetKeyStatusPayload = keyPayload("SetKeyStatusPayload");

builder.mutationField("setKeyStatus", (t) =>
  t.field({
    type: SetKeyStatusPayload,
    args: { input: t.arg({ type: SetKeyStatusInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      ctx.commands.setStatus(callerOf(ctx), keyIdOf(String(input.id)), input.status, expectedVersionArg(input.expectedVersion)),
  }),
);
