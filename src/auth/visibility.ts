import { hasRole, type Viewer } from "./viewer.js";

/**
 * What a viewer may read and change, in one place: admins and auditors read every owner's keys
 * (and their events), owners their own; admins change every key, owners their own.
 * Another owner's key is invisible, so callers answer NOT_FOUND rather than FORBIDDEN.
 */

/** A query filter: `ownerId` undefined means every owner. */
export interface OwnerScope {
  ownerId?: string;
}

export const readsAllKeys = (viewer: Viewer) => hasRole(viewer, "admin", "auditor");
export const readsOwnKeys = (viewer: Viewer) => hasRole(viewer, "owner", "admin", "auditor");
export const writesOwnKeys = (viewer: Viewer) => hasRole(viewer, "owner", "admin");
export const verifiesKeys = (viewer: Viewer) => hasRole(viewer, "gateway", "admin");

/** The filter for queries over keys or their events. */
export function readScope(viewer: Viewer): OwnerScope {
  return readsAllKeys(viewer) ? {} : { ownerId: viewer.userId };
}

/** The same rule as a predicate on one key. */
export function mayRead(viewer: Viewer, key: { ownerId: string } | undefined): boolean {
  return key !== undefined && (readsAllKeys(viewer) || key.ownerId === viewer.userId);
}

export function mayChange(viewer: Viewer, key: { ownerId: string } | undefined): boolean {
  return key !== undefined && writesOwnKeys(viewer) && (hasRole(viewer, "admin") || key.ownerId === viewer.userId);
}
