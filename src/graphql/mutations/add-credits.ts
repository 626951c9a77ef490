import { builder } from "../builder.js";
import { keyIdOf } from "../lib/api-key-id.js";
import { EXPECTED_VERSION_DESCRIPTION, expectedVersionArg } from "../lib/expected-version.js";
import { keyPayload } from "../lib/key-payload.js";
import { callerOf } from "../lib/viewer.js";

const AddCreditsInput = builder.inputType("AddCreditsInput", {
  fields: (t) => ({
    id: t.id({ required: true }),
    amount: t.int({ required: true, description: "Added to the balance; negative removes (the balance never goes below 0). Not 0." }),
    expectedVersion: t.int({ description: EXPECTED_VERSION_DESCRIPTION }),
  }),
});

const AddCreditsPayload = keyPayload("AddCreditsPayload");

builder.mutationField("addCredits", (t) =>
  t.field({
    type: AddCreditsPayload,
    description: "Changes a metered key's balance, exactly: concurrent verifications spend from the result.",
    args: { input: t.arg({ type: AddCreditsInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      ctx.commands.addCredits(callerOf(ctx), keyIdOf(String(input.id)), input.amount, expectedVersionArg(input.expectedVersion)),
  }),
);
