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

