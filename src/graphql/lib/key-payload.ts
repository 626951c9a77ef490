import { builder } from "../builder.js";
import { loadVisibleKey } from "../nodes/api-key.js";

/** A mutation payload that answers with the changed key, read after the change. */
export function keyPayload(name: string) {
  return builder.objectRef<{ keyId: string }>(name).implement({
    fields: (t) => ({
      apiKey: t.prismaField({ type: "ApiKey", resolve: (query, payload, _args, ctx) => loadVisibleKey(ctx, payload.keyId, query) }),
    }),
  });
}
