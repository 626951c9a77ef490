import { verifyDatabaseLog, type LogVerification } from "../../audit/verify-log.js";
import { ForbiddenError } from "../../auth/errors.js";
import { readsAllKeys } from "../../auth/visibility.js";
import { builder } from "../builder.js";
import { requireViewer } from "../lib/viewer.js";

const LogVerificationRef = builder.objectRef<LogVerification>("LogVerification").implement({
  fields: (t) => ({
    ok: t.exposeBoolean("ok"),
    eventsChecked: t.exposeString("eventsChecked"),
    checkpointsChecked: t.exposeString("checkpointsChecked", { description: "Signed checkpoints whose signature and head hash matched" }),
    headHash: t.exposeString("headHash", { nullable: true }),
    firstBadPosition: t.exposeString("firstBadPosition", {
      nullable: true,
      description: "An altered event's position, a missing event's position, a bad checkpoint's position, or the first position after a truncated log",
    }),
    reason: t.exposeString("reason", { nullable: true }),
  }),
});

builder.queryField("verifyLog", (t) =>
  t.field({
    type: LogVerificationRef,
    description: "Recomputes the whole hash chain and checks every signed checkpoint (auditor, admin). Reads the whole log.",
    resolve: (_root, _args, ctx) => {
      const viewer = requireViewer(ctx);
      if (!readsAllKeys(viewer)) throw new ForbiddenError("Verifying the log needs the auditor or admin role");
      return verifyDatabaseLog(ctx.db);
    },
  }),
);
