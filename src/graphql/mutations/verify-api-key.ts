import { encodeGlobalID } from "@pothos/plugin-relay";
import type { Verification } from "../../domain/verification.js";
import { builder } from "../builder.js";
import { ServiceEnum } from "../enums/service.js";
import { VerifyCodeEnum } from "../enums/verify-code.js";
import { callerOf } from "../lib/viewer.js";

const VerifyApiKeyInput = builder.inputType("VerifyApiKeyInput", {
  fields: (t) => ({
    key: t.string({ required: true, description: "The full key the gateway's caller presented" }),
    service: t.field({ type: ServiceEnum, required: true, description: "The service the gateway guards" }),
  }),
});

const VerifyApiKeyPayload = builder.objectRef<Verification>("VerifyApiKeyPayload").implement({
  fields: (t) => ({
    valid: t.boolean({ resolve: (v) => v.code === "VALID" }),
    code: t.field({ type: VerifyCodeEnum, resolve: (v) => v.code }),
    keyId: t.id({ nullable: true, resolve: (v) => (v.keyId ? encodeGlobalID("ApiKey", v.keyId) : null) }),
    ownerId: t.id({ nullable: true, resolve: (v) => v.ownerId ?? null }),
  }),
});

builder.mutationField("verifyApiKey", (t) =>
  t.field({
    type: VerifyApiKeyPayload,
    description: "For gateways (gateway or admin role). A VALID answer means its KeyUsed event is committed.",
    args: { input: t.arg({ type: VerifyApiKeyInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.verifier.verify(callerOf(ctx), input.key, input.service),
  }),
);
