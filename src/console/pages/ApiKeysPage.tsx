import { keepPreviousData, useQuery, useQueryClient, type QueryClient } from "@tanstack/react-query";
import { useRef, useState } from "react";
import { Link, Redirect, useLocation, useParams } from "wouter";
import { ApiError, errorMessage, request } from "../api/client";
import { useSubscription } from "../api/live";
import { CopyButton } from "../components/CopyButton";
import { CreateKeyDialog, EditKeyDialog, RevokeKeyDialog, SecretDialog, type CreatedKey } from "../components/KeyDialogs";
import { CreditsCell, ExpiresCell, isExpired, isRotating } from "../components/KeyPolicyCells";
import { AddCreditsDialog, RotateKeyDialog } from "../components/KeyPolicyDialogs";
import { formatDay, formatExact, RelativeTime, useNow } from "../components/RelativeTime";
import { Pager, useCursorPages } from "../components/Pager";
import { useToast } from "../components/Toasts";
import { ApiKeysDocument, KeyChangedDocument, KeyUsedDocument, SetKeyStatusDocument, type ApiKeysQuery, type ConsoleKeyFragment } from "../generated/graphql";
import { SERVICES, serviceBySlug, type ServiceInfo } from "../services";

const PAGE_SIZE = 10;
type Filter = "live" | "revoked";
type RowAction = "edit" | "revoke" | "rotate" | "credits";
type Dialogs = { kind: "create" } | { kind: "secret"; created: CreatedKey } | { kind: RowAction; apiKey: ConsoleKeyFragment } | null;

const keysQueryKey = (service: ServiceInfo) => ["apiKeys", service.id] as const;

/**
 * A gateway's verification, applied to the rows on screen without a refetch. Says whether the key
 * is metered: what it spent (its cost, or its successor's balance) is known only to the server.
 */
function applyKeyUsed(queryClient: QueryClient, service: ServiceInfo, keyId: string, usedAt: string): boolean {
  let metered = false;
  queryClient.setQueriesData<ApiKeysQuery>({ queryKey: keysQueryKey(service) }, (page) => {
    if (!page) return page;
    const edges = page.apiKeys.edges.map((edge) => {
      const key = edge.node;
      if (key.id !== keyId) return edge;
      metered ||= key.credits != null;
      const lastUsedAt = key.lastUsedAt && key.lastUsedAt > usedAt ? key.lastUsedAt : usedAt;
      return { ...edge, node: { ...key, lastUsedAt, usageCount: key.usageCount + 1 } };
    });
    return { ...page, apiKeys: { ...page.apiKeys, edges } };
  });
  return metered;
}

/** At most one refetch a second, however many verifications arrive: a busy key must not turn each of them into a query. */
function useThrottled(action: () => void, intervalMs: number): () => void {
  const pending = useRef(false);
  const latest = useRef(action);
  latest.current = action;
  return () => {
    if (pending.current) return;
    pending.current = true;
    setTimeout(() => {
      pending.current = false;
      latest.current();
    }, intervalMs);
  };
}

export function ApiKeysPage() {
  const { service: slug } = useParams<{ service: string }>();
  const service = serviceBySlug(slug);
  if (!service) return <Redirect to="/keys/email" replace />;
  return <ServiceKeys key={service.id} service={service} />;
}

function ServiceKeys({ service }: { service: ServiceInfo }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const [, navigate] = useLocation();
  const [filter, setFilter] = useState<Filter>("live");
  const pages = useCursorPages();
  const [dialog, setDialog] = useState<Dialogs>(null);
  const after = pages.after;

  const keys = useQuery({
    queryKey: [...keysQueryKey(service), filter, after],
    queryFn: () => request(ApiKeysDocument, { service: service.id, status: filter === "revoked" ? "REVOKED" : null, first: PAGE_SIZE, after }),
    placeholderData: keepPreviousData,
  });
  const refresh = () => queryClient.invalidateQueries({ queryKey: keysQueryKey(service) });

  useSubscription(KeyChangedDocument, { service: service.id }, () => void refresh());
  const refreshBalances = useThrottled(() => void refresh(), 1_000);
  useSubscription(KeyUsedDocument, { service: service.id }, ({ keyUsed }) => {
    if (applyKeyUsed(queryClient, service, keyUsed.keyId, keyUsed.usedAt)) refreshBalances();
  });

  const showFilter = (next: Filter) => {
    setFilter(next);
    pages.reset();
  };
  const rows = keys.data?.apiKeys.edges.map((edge) => edge.node) ?? [];
  const empty = keys.isSuccess && rows.length === 0;

  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">API Keys</h1>
      <nav className="tabs" aria-label="Services">
        {SERVICES.map((s) => (
          <Link key={s.id} href={`/keys/${s.slug}`} className={s.id === service.id ? "tab active" : "tab"} aria-current={s.id === service.id ? "page" : undefined}>
            {s.label}
          </Link>
        ))}
      </nav>
      <div className="toolbar">
        <div className="segmented" role="group" aria-label="Which keys">
          <button type="button" aria-pressed={filter === "live"} onClick={() => showFilter("live")}>
            Active
          </button>
          <button type="button" aria-pressed={filter === "revoked"} onClick={() => showFilter("revoked")}>
            Revoked
          </button>
        </div>
        {!empty && filter === "live" && (
          <button type="button" className="button primary" onClick={() => setDialog({ kind: "create" })}>
            + New API Key
          </button>
        )}
      </div>

      {keys.isError && (
        <p className="form-error" role="alert">
          {errorMessage(keys.error)}
        </p>
      )}
      {keys.isPending && <p className="muted">Loading…</p>}
      {empty && (
        <div className="empty-state">
          <p className="empty-title">{filter === "live" ? "No API keys found!" : "No revoked keys."}</p>
          {filter === "live" && (
            <button type="button" className="button primary" onClick={() => setDialog({ kind: "create" })}>
              + Create API Key
            </button>
          )}
        </div>
      )}
      {rows.length > 0 && <KeyTable service={service} rows={rows} onAction={(kind, apiKey) => setDialog({ kind, apiKey })} onChanged={refresh} />}
      {keys.data && <Pager pages={pages} pageInfo={keys.data.apiKeys.pageInfo} summary={`${keys.data.apiKeys.totalCount} keys`} />}

      {dialog?.kind === "create" && (
        <CreateKeyDialog
          service={service}
          onClose={() => setDialog(null)}
          onCreated={(created) => {
            toast("success", "SUCCESS", `API key “${created.apiKey.name}” created.`);
            setDialog({ kind: "secret", created });
            setFilter("live");
            pages.reset();
            void refresh();
          }}
        />
      )}
      {dialog?.kind === "secret" && (
        <SecretDialog
          created={dialog.created}
          onClose={() => setDialog(null)}
          onViewDetails={() => {
            const id = dialog.created.apiKey.id;
            setDialog(null);
            navigate(`/usage?key=${encodeURIComponent(id)}&service=${service.slug}`);
          }}
        />
      )}
      {dialog?.kind === "edit" && (
        <EditKeyDialog
          apiKey={dialog.apiKey}
          onClose={() => setDialog(null)}
          onSaved={() => {
            toast("success", "SUCCESS", "API key updated.");
            setDialog(null);
            void refresh();
          }}
        />
      )}
      {dialog?.kind === "rotate" && (
        <RotateKeyDialog
          apiKey={dialog.apiKey}
          onClose={() => setDialog(null)}
          onRotated={(rotated) => {
            toast("success", "SUCCESS", `API key “${dialog.apiKey.name}” rotated.`);
            setDialog({ kind: "secret", created: rotated });
            void refresh();
          }}
        />
      )}
      {dialog?.kind === "credits" && (
        <AddCreditsDialog
          apiKey={dialog.apiKey}
          onClose={() => setDialog(null)}
          onAdded={(remaining) => {
            toast("success", "SUCCESS", `“${dialog.apiKey.name}” now has ${remaining.toLocaleString("en")} credits.`);
            setDialog(null);
            void refresh();
          }}
        />
      )}
      {dialog?.kind === "revoke" && (
        <RevokeKeyDialog
          apiKey={dialog.apiKey}
          onClose={() => setDialog(null)}
          onRevoked={() => {
            toast("success", "SUCCESS", `API key “${dialog.apiKey.name}” revoked.`);
            setDialog(null);
            void refresh();
          }}
        />
      )}
    </section>
  );
}

function KeyTable({ service, rows, onAction, onChanged }: { service: ServiceInfo; rows: ConsoleKeyFragment[]; onAction: (action: RowAction, key: ConsoleKeyFragment) => void; onChanged: () => void }) {
  return (
    <div className="table-scroll">
      <table className="keys">
        <caption className="visually-hidden">{service.label} API keys, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Key Name</th>
            <th scope="col">Last Used</th>
            <th scope="col">Uses</th>
            <th scope="col">API Auth Key</th>
            <th scope="col">Expires</th>
            <th scope="col">Credits</th>
            <th scope="col">Date Created</th>
            <th scope="col">Status</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((key) => (
            <tr key={key.id} data-key-id={key.id}>
              <th scope="row">
                <span className="key-name">{key.name}</span>
                {key.description && <span className="key-description">{key.description}</span>}
              </th>
              <td className="last-used">{key.lastUsedAt ? <RelativeTime iso={key.lastUsedAt} /> : "Never"}</td>
              <td className="uses">{key.usageCount.toLocaleString("en")}</td>
              <td>
                <span className="masked">
                  <code>{key.maskedKey}</code>
                  <CopyButton text={key.maskedKey} label={`Copy masked key of ${key.name}`} />
                </span>
              </td>
              <td className="expires">
                <ExpiresCell apiKey={key} />
              </td>
              <td className="credits-cell">
                <CreditsCell apiKey={key} />
              </td>
              <td className="created">
                <time dateTime={key.createdAt} title={formatExact(key.createdAt)}>
                  {formatDay(key.createdAt)}
                </time>
              </td>
              <td>{key.status === "REVOKED" ? <span className="badge revoked">Revoked</span> : <StatusSwitch apiKey={key} onChanged={onChanged} />}</td>
              <td className="row-actions">{key.status !== "REVOKED" && <RowActions apiKey={key} onAction={onAction} />}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Rotation needs a key still in service; credits are topped up on the key that now holds them (a rotated key spends its successor's). */
function RowActions({ apiKey, onAction }: { apiKey: ConsoleKeyFragment; onAction: (action: RowAction, key: ConsoleKeyFragment) => void }) {
  const now = useNow();
  const replaceable = !isRotating(apiKey) && !isExpired(apiKey, now);
  const button = (action: RowAction, label: string, className = "button link") => (
    <button type="button" className={className} aria-label={`${label} ${apiKey.name}`} onClick={() => onAction(action, apiKey)}>
      {label}
    </button>
  );
  return (
    <>
      {button("edit", "Edit")}
      {replaceable && button("rotate", "Rotate")}
      {apiKey.credits && !isRotating(apiKey) && button("credits", "Add credits")}
      {button("revoke", "Revoke", "button link danger-text")}
    </>
  );
}

/** On/off with the version the row was read at: a key changed elsewhere answers CONFLICT and the row refreshes. */
function StatusSwitch({ apiKey, onChanged }: { apiKey: ConsoleKeyFragment; onChanged: () => void }) {
  const toast = useToast();
  const [busy, setBusy] = useState(false);
  const on = apiKey.status === "ACTIVE";
  async function toggle() {
    setBusy(true);
    try {
      await request(SetKeyStatusDocument, { input: { id: apiKey.id, status: on ? "INACTIVE" : "ACTIVE", expectedVersion: apiKey.version } });
    } catch (error) {
      const stale = error instanceof ApiError && error.stale;
      const code = error instanceof ApiError && error.code === "CONFLICT" ? "CONFLICT" : "ERROR";
      toast("error", code, stale ? `“${apiKey.name}” was changed elsewhere; the row now shows its current state.` : errorMessage(error));
    } finally {
      setBusy(false);
      onChanged();
    }
  }
  return (
    <button type="button" role="switch" aria-checked={on} aria-label={`Status of ${apiKey.name}`} className="switch" disabled={busy} onClick={() => void toggle()}>
      <span className="switch-thumb" aria-hidden="true" />
      <span className="switch-text">{on ? "Active" : "Inactive"}</span>
    </button>
  );
}
