export const ROLES = ["owner", "auditor", "gateway", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** The authenticated caller: `sub` and roles from a verified token. */
export interface Viewer {
  userId: string;
  roles: ReadonlySet<Role>;
  /** When the token expires (epoch ms); undefined for a token without `exp` (allowed only if configured). */
  expiresAt?: number;
}

export const hasRole = (viewer: Viewer, ...roles: Role[]) => roles.some((role) => viewer.roles.has(role));

/** Admins and auditors read every owner's keys; owners read their own. */
export const readsAllKeys = (viewer: Viewer) => hasRole(viewer, "admin", "auditor");
export const readsOwnKeys = (viewer: Viewer) => hasRole(viewer, "owner", "admin", "auditor");
/** Admins change every key; owners their own; auditors and gateways change nothing. */
export const writesAllKeys = (viewer: Viewer) => hasRole(viewer, "admin");
export const writesOwnKeys = (viewer: Viewer) => hasRole(viewer, "owner", "admin");
