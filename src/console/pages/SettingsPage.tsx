import { signOut, type Session } from "../auth/session";
import { formatExact } from "../components/RelativeTime";

export function SettingsPage({ session }: { session: Session }) {
  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">Settings</h1>
      <dl className="settings">
        <dt>Signed in as</dt>
        <dd>{session.userId}</dd>
        <dt>Roles</dt>
        <dd>{session.roles.join(", ")}</dd>
        <dt>Session expires</dt>
        <dd>{session.expiresAt ? formatExact(session.expiresAt.toISOString()) : "never"}</dd>
        <dt>GraphQL endpoint</dt>
        <dd>
          <code>{new URL("/graphql", window.location.href).toString()}</code>
        </dd>
      </dl>
      <button type="button" className="button secondary" onClick={signOut}>
        Sign out
      </button>
    </section>
  );
}
