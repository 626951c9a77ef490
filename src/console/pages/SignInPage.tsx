import { useEffect, useId, useState, type FormEvent } from "react";
import { decodeToken, signIn, type Role } from "../auth/session";
import { Field } from "../components/Field";

const ROLES: Role[] = ["owner", "auditor", "admin", "gateway"];

/** Whether the server offers development sign-in (embedded default with its generated secret). */
function useDevSignIn(): boolean | undefined {
  const [available, setAvailable] = useState<boolean>();
  useEffect(() => {
    fetch("/auth/dev-token", { headers: { accept: "application/json" } })
      .then((response) => setAvailable(response.ok))
      .catch(() => setAvailable(false));
  }, []);
  return available;
}

export function SignInPage() {
  const devAvailable = useDevSignIn();
  return (
    <main className="sign-in">
      <div className="card">
        <p className="brand">keyledger</p>
        <h1>Sign in to the console</h1>
        {devAvailable && <DevSignIn />}
        <PastedToken />
      </div>
    </main>
  );
}

function DevSignIn() {
  const [userId, setUserId] = useState("alice");
  const [role, setRole] = useState<Role>("owner");
  const [error, setError] = useState<string>();
  const roleId = useId();
  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(undefined);
    const response = await fetch("/auth/dev-token", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ userId, role }) });
    const body = (await response.json()) as { token?: string; error?: string };
    if (response.ok && body.token) signIn(body.token);
    else setError(body.error ?? `Sign-in failed (${response.status})`);
  }
  return (
    <form onSubmit={submit} className="dev-sign-in" aria-labelledby="dev-title" noValidate>
      <h2 id="dev-title">Development sign-in</h2>
      <p className="muted">This server uses its generated development secret, so it signs a token for any user and role. It never does with JWT_SECRET, JWKS_URL or in production.</p>
      <Field label="User id" name="userId" value={userId} onChange={setUserId} required error={error} />
      <div className="field">
        <label htmlFor={roleId}>Role</label>
        <select id={roleId} value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </div>
      <button type="submit" className="button primary">
        Sign in
      </button>
    </form>
  );
}

function PastedToken() {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string>();
  return (
    <form
      className="paste-token"
      aria-labelledby="paste-title"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        if (!decodeToken(token.trim())) return setError("That is not a JWT with a subject (sub).");
        signIn(token);
      }}
    >
      <h2 id="paste-title">Sign in with a token</h2>
      <Field label="JWT" name="token" value={token} onChange={setToken} required error={error} multiline placeholder="eyJhbGciOi…" />
      <button type="submit" className="button secondary">
        Use token
      </button>
    </form>
  );
}
