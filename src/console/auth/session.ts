import { useSyncExternalStore } from "react";

/** The signed-in user's JWT lives in this tab's and its siblings' localStorage until sign-out. */
const STORAGE_KEY = "keyledger.console.token";
const listeners = new Set<() => void>();

export type Role = "owner" | "auditor" | "gateway" | "admin";

export interface Session {
  token: string;
  userId: string;
  roles: Role[];
  expiresAt?: Date;
}

function notify() {
  for (const listener of listeners) listener();
}

export function currentToken(): string | null {
  return localStorage.getItem(STORAGE_KEY);
}

export function signIn(token: string): void {
  localStorage.setItem(STORAGE_KEY, token.trim());
  notify();
}

export function signOut(): void {
  localStorage.removeItem(STORAGE_KEY);
  notify();
}

/** Reads the token's claims for display only; the server verifies the signature on every call. */
export function decodeToken(token: string): Omit<Session, "token"> | null {
  const payload = token.split(".")[1];
  if (!payload) return null;
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const claims = JSON.parse(json) as { sub?: unknown; roles?: unknown; exp?: unknown };
    if (typeof claims.sub !== "string") return null;
    const roles = Array.isArray(claims.roles) ? (claims.roles.filter((r) => typeof r === "string") as Role[]) : [];
    return {
      userId: claims.sub,
      roles: roles.length > 0 ? roles : ["owner"],
      expiresAt: typeof claims.exp === "number" ? new Date(claims.exp * 1000) : undefined,
    };
  } catch {
    return null;
  }
}

function subscribe(listener: () => void) {
  listeners.add(listener);
  const onStorage = (event: StorageEvent) => event.key === STORAGE_KEY && listener();
  window.addEventListener("storage", onStorage);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("storage", onStorage);
  };
}

let cached: { token: string | null; session: Session | null } = { token: null, session: null };

function snapshot(): Session | null {
  const token = currentToken();
  if (token !== cached.token) {
    const claims = token ? decodeToken(token) : null;
    cached = { token, session: token && claims ? { token, ...claims } : null };
  }
  return cached.session;
}

export function useSession(): Session | null {
  return useSyncExternalStore(subscribe, snapshot);
}

export const canAudit = (session: Session) => session.roles.includes("auditor") || session.roles.includes("admin");
