import { encodeGlobalID } from "@pothos/plugin-relay";
import type { RatelimitAnswer, Verification } from "../../domain/verification.js";
import { builder } from "../builder.js";
import { ServiceEnum } from "../enums/service.js";
import { VerifyCodeEnum } from "../enums/verify-code.js";
import { callerOf } from "../lib/viewer.js";

const RatelimitRequest = builder.inputType("RatelimitRequest", {
  fields: (t) => ({
    name: t.string({ required: true, description: "One of the key's rate limits" }),
    cost: t.int({ description: "0 to 1000, default 1" }),
  }),
});

const VerifyApiKeyInput = builder.inputType("VerifyApiKeyInput", {
  fields: (t) => ({
    key: t.string({ required: true, description: "The full key the gateway's caller presented" }),
    service: t.field({ type: ServiceEnum, required: true, description: "The service the gateway guards" }),
    permissions: t.stringList({ description: "Every one must be held by the key, else INSUFFICIENT_PERMISSIONS" }),
    cost: t.int({ description: "Credits to spend: 0 to 1000, default 1; 0 checks without spending" }),
    ratelimits: t.field({ type: [RatelimitRequest], description: "Which of the key's rate limits to apply; default: all of them at cost 1" }),
  }),
});

const VerificationCredits = builder.objectRef<{ remaining: number }>("VerificationCredits").implement({
  fields: (t) => ({ remaining: t.exposeInt("remaining", { description: "After this verification" }) }),
});

const VerificationRatelimit = builder.objectRef<RatelimitAnswer>("VerificationRatelimit").implement({
  fields: (t) => ({
    name: t.exposeString("name"),
    limit: t.exposeInt("limit"),
    remaining: t.exposeInt("remaining", { description: "Cost still admitted now (after this verification when VALID)" }),
    resetAt: t.expose("resetAt", { type: "DateTime", description: "When the oldest admitted cost leaves the window" }),
  }),
});

const VerifyApiKeyPayload = builder.objectRef<Verification>("VerifyApiKeyPayload").implement({
  fields: (t) => ({
    valid: t.boolean({ resolve: (v) => v.code === "VALID" }),
    code: t.field({ type: VerifyCodeEnum, resolve: (v) => v.code }),
    keyId: t.id({ nullable: true, resolve: (v) => (v.keyId ? encodeGlobalID("ApiKey", v.keyId) : null) }),
    ownerId: t.id({ nullable: true, resolve: (v) => v.ownerId ?? null }),
    expiresAt: t.field({ type: "DateTime", nullable: true, resolve: (v) => v.expiresAt ?? null }),
    permissions: t.stringList({ nullable: true, description: "Null when the key is unknown", resolve: (v) => v.permissions ?? null }),
    meta: t.field({ type: "JSONObject", nullable: true, resolve: (v) => v.meta ?? null }),
    credits: t.field({ type: VerificationCredits, nullable: true, description: "Null when the key is not metered", resolve: (v) => v.credits ?? null }),
    ratelimits: t.field({ type: [VerificationRatelimit], description: "The limits applied", resolve: (v) => v.ratelimits ?? [] }),
  }),
});

builder.mutationField("verifyApiKey", (t) =>
  t.field({
    type: VerifyApiKeyPayload,
    description:
      "For gateways (gateway or admin role). A VALID answer means its KeyUsed event is committed: credits spent and rate limits counted, exactly, across every process.",
    args: { input: t.arg({ type: VerifyApiKeyInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      ctx.verifier.verify(callerOf(ctx), input.key, input.service, {
        permissions: input.permissions ?? undefined,
        cost: input.cost ?? undefined,
        ratelimits: input.ratelimits ?? undefined,
      }),
  }),
);
