import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { lazy, Suspense, useEffect, useState } from "react";
import { Link, Redirect, Route, Switch, useLocation } from "wouter";
import { LiveProvider, useLiveState } from "./api/live";
import { canAudit, signOut, useSession, type Session } from "./auth/session";
import { ChartIcon, KeyIcon, LogIcon, SettingsIcon } from "./components/icons";
import { ToastProvider } from "./components/Toasts";
import { ApiKeysPage } from "./pages/ApiKeysPage";
import { SettingsPage } from "./pages/SettingsPage";
import { SignInPage } from "./pages/SignInPage";

// The chart library and the audit tables load only when their page opens.
const UsagePage = lazy(() => import("./pages/UsagePage"));
const AuditLogPage = lazy(() => import("./pages/AuditLogPage"));

export function App() {
  const session = useSession();
  const [queryClient] = useState(() => new QueryClient({ defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false, staleTime: 5_000 } } }));
  useEffect(() => {
    if (!session) queryClient.clear();
  }, [session, queryClient]);
  return (
    <QueryClientProvider client={queryClient}>
      <ToastProvider>
        {session ? (
          <LiveProvider token={session.token}>
            <Shell session={session} />
          </LiveProvider>
        ) : (
          <SignInPage />
        )}
      </ToastProvider>
    </QueryClientProvider>
  );
}

function NavLink({ href, match, icon, children }: { href: string; match: string; icon: React.ReactNode; children: React.ReactNode }) {
  const [location] = useLocation();
  const active = location.startsWith(match);
  return (
    <Link href={href} className={active ? "nav-link active" : "nav-link"} aria-current={active ? "page" : undefined}>
      {icon}
      <span>{children}</span>
    </Link>
  );
}

function LiveBadge() {
  const state = useLiveState();
  const text = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…" }[state];
  return (
    <span className={`live live-${state}`} role="status" title="Updates from the server arrive over a WebSocket">
      {text}
    </span>
  );
}

function Shell({ session }: { session: Session }) {
  const auditor = canAudit(session);
  return (
    <div className="shell">
      <aside className="sidebar">
        <p className="brand">keyledger</p>
        <nav aria-label="Main">
          <NavLink href="/keys/email" match="/keys" icon={<KeyIcon />}>
            API Keys
          </NavLink>
          <NavLink href="/usage" match="/usage" icon={<ChartIcon />}>
            Usage
          </NavLink>
          {auditor && (
            <NavLink href="/audit" match="/audit" icon={<LogIcon />}>
              Audit log
            </NavLink>
          )}
          <NavLink href="/settings" match="/settings" icon={<SettingsIcon />}>
            Settings
          </NavLink>
        </nav>
      </aside>
      <div className="main-column">
        <header className="topbar">
          <LiveBadge />
          <span className="who">
            {session.userId} <span className="muted">({session.roles.join(", ")})</span>
          </span>
          <button type="button" className="button secondary small" onClick={signOut}>
            Sign out
          </button>
        </header>
        <main className="content">
          <Suspense fallback={<p className="muted">Loading…</p>}>
            {/* The server serves index.html only for these paths: keep CONSOLE_PAGES in src/server/console-routes.ts in step. */}
            <Switch>
              <Route path="/keys/:service" component={ApiKeysPage} />
              <Route path="/usage" component={UsagePage} />
              <Route path="/audit">{auditor ? <AuditLogPage /> : <p role="alert">The audit log is for auditors and admins.</p>}</Route>
              <Route path="/settings">
                <SettingsPage session={session} />
              </Route>
              <Route>
                <Redirect to="/keys/email" replace />
              </Route>
            </Switch>
          </Suspense>
        </main>
      </div>
    </div>
  );
}
