import { keepPreviousData, useMutation, useQuery } from "@tanstack/react-query";
import { useId, useState } from "react";
import { errorMessage, request } from "../api/client";
import { currentToken } from "../auth/session";
import { Pager, useCursorPages } from "../components/Pager";
import { formatExact } from "../components/RelativeTime";
import { EventsDocument, VerifyLogDocument, type EventType } from "../generated/graphql";

const PAGE_SIZE = 20;
const TYPES: EventType[] = ["KeyCreated", "KeyUpdated", "KeyToggled", "KeyRevoked", "KeyUsed"];

/** Streams /events.ndjson with the bearer token and hands it to the browser as a file. */
async function downloadNdjson(): Promise<void> {
  const response = await fetch("/events.ndjson", { headers: { authorization: `Bearer ${currentToken() ?? ""}` }, cache: "no-store" });
  if (!response.ok) throw new Error(`The export failed (${response.status})`);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = `keyledger-events-${new Date().toISOString().slice(0, 19).replace(/:/g, "")}.ndjson`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export default function AuditLogPage() {
  const [type, setType] = useState<EventType | "">("");
  const [keyFilter, setKeyFilter] = useState("");
  const [applied, setApplied] = useState<{ type: EventType | ""; key: string }>({ type: "", key: "" });
  const pages = useCursorPages();
  const ids = { type: useId(), key: useId() };
  const after = pages.after;

  const events = useQuery({
    queryKey: ["events", applied, after],
    queryFn: () => request(EventsDocument, { first: PAGE_SIZE, after, types: applied.type ? [applied.type] : null, streamId: applied.key || null }),
    placeholderData: keepPreviousData,
  });
  const verify = useMutation({ mutationFn: () => request(VerifyLogDocument) });
  const download = useMutation({ mutationFn: downloadNdjson });
  const rows = events.data?.events.edges.map((e) => e.node) ?? [];
  const result = verify.data?.verifyLog;

  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <div className="toolbar">
        <form
          className="filters"
          onSubmit={(e) => {
            e.preventDefault();
            setApplied({ type, key: keyFilter.trim() });
            pages.reset();
          }}
        >
          <div className="field inline">
            <label htmlFor={ids.type}>Event type</label>
            <select id={ids.type} value={type} onChange={(e) => setType(e.target.value as EventType | "")}>
              <option value="">All types</option>
              {TYPES.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </div>
          <div className="field inline">
            <label htmlFor={ids.key}>Key id</label>
            <input id={ids.key} value={keyFilter} onChange={(e) => setKeyFilter(e.target.value)} placeholder="any key" autoComplete="off" />
          </div>
          <button type="submit" className="button secondary">
            Filter
          </button>
        </form>
        <div className="actions">
          <button type="button" className="button secondary" disabled={verify.isPending} onClick={() => verify.mutate()}>
            {verify.isPending ? "Verifying…" : "Verify log"}
          </button>
          <button type="button" className="button primary" disabled={download.isPending} onClick={() => download.mutate()}>
            Download NDJSON
          </button>
        </div>
      </div>
      <div role="status" aria-live="polite">
        {result && (
          <p className={result.ok ? "verify-result ok" : "verify-result bad"}>
            {result.ok
              ? `Log verified: ${result.eventsChecked} events and ${result.checkpointsChecked} signed checkpoints checked, no tampering found.`
              : `Verification failed at position ${result.firstBadPosition ?? "?"}: ${result.reason ?? "the chain does not match"} (${result.eventsChecked} events checked).`}
          </p>
        )}
        {verify.isError && <p className="form-error">{errorMessage(verify.error)}</p>}
        {download.isError && <p className="form-error">{errorMessage(download.error)}</p>}
      </div>
      {events.isError && (
        <p className="form-error" role="alert">
          {errorMessage(events.error)}
        </p>
      )}
      {events.isSuccess && rows.length === 0 && (
        <div className="empty-state">
          <p className="empty-title">No events match.</p>
        </div>
      )}
      {rows.length > 0 && (
        <table className="events">
          <caption className="visually-hidden">Events in log order</caption>
          <thead>
            <tr>
              <th scope="col">Position</th>
              <th scope="col">Time</th>
              <th scope="col">Type</th>
              <th scope="col">Key</th>
              <th scope="col">Actor</th>
              <th scope="col">Data</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <tr key={e.eventId}>
                <td className="num">{e.position}</td>
                <td>
                  <time dateTime={e.occurredAt} title={formatExact(e.occurredAt)}>
                    {e.occurredAt.slice(0, 19).replace("T", " ")} UTC
                  </time>
                </td>
                <td>
                  <span className={`badge type-${e.type}`}>{e.type}</span>
                </td>
                <td>
                  <code title={e.streamId}>{e.streamId.slice(0, 8)}</code>
                </td>
                <td>{e.actor.id ? `${e.actor.id} (${e.actor.role ?? "?"})` : "—"}</td>
                <td>
                  <code className="data" title={JSON.stringify(e.data, null, 2)}>
                    {JSON.stringify(e.data)}
                  </code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {events.data && <Pager pages={pages} pageInfo={events.data.events.pageInfo} />}
    </section>
  );
}
