import { ForbiddenError } from "../../auth/errors.js";
import { readsOwnKeys } from "../../auth/visibility.js";
import type { Viewer } from "../../auth/viewer.js";
import type { Caller } from "../../commands/api-keys.js";
import type { Context } from "../context.js";

/** The authenticated caller, or the reason there is none (UNAUTHENTICATED). */
export function requireViewer(ctx: Context): Viewer {
  if ("error" in ctx.auth) throw ctx.auth.error;
  return ctx.auth.viewer;
}

/** Key tables are for owners, admins and auditors; a gateway-only token reads nothing here. */
export function requireKeyReader(ctx: Context): Viewer {
  const viewer = requireViewer(ctx);
  if (!readsOwnKeys(viewer)) throw new ForbiddenError("Reading keys needs the owner, auditor or admin role");
  return viewer;
}

export function callerOf(ctx: Context): Caller {
  return { viewer: requireViewer(ctx), requestId: ctx.requestId };
}
