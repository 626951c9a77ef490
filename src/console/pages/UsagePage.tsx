import { useQuery, useQueryClient } from "@tanstack/react-query";
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from "chart.js";
import { useEffect, useId, useRef, useState } from "react";
import { useSearch } from "wouter";
import { request } from "../api/client";
import { useSubscription } from "../api/live";
import { ApiKeysDocument, KeyUsageDocument, KeyUsedDocument, type UsageGranularity } from "../generated/graphql";
import { SERVICES, serviceBySlug, type ServiceInfo } from "../services";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

/** The outcomes of verifications, stacked in this order; valid ones are what the service served. */
const OUTCOMES = [
  { key: "valid", label: "Valid", color: "#4f46e5" },
  { key: "rateLimited", label: "Rate limited", color: "#e0a100" },
  { key: "usageExceeded", label: "Usage exceeded", color: "#e4572e" },
  { key: "denied", label: "Denied", color: "#8b93a7" },
] as const;
type Outcome = (typeof OUTCOMES)[number]["key"];
type Bucket = { start: string } & Record<Outcome, number>;
const bucketTotal = (b: Bucket) => OUTCOMES.reduce((sum, o) => sum + b[o.key], 0);

interface Range {
  id: string;
  label: string;
  granularity: UsageGranularity;
  span: number;
  axis: string;
}
const HOUR = 3_600_000;
const RANGES: Range[] = [
  { id: "24h-hour", label: "Last 24 hours, by hour", granularity: "HOUR", span: 24 * HOUR, axis: "Hour (local time)" },
  { id: "24h-minute", label: "Last 24 hours, by minute", granularity: "MINUTE", span: 24 * HOUR, axis: "Minute (local time)" },
  { id: "30d-day", label: "Last 30 days, by day", granularity: "DAY", span: 30 * 24 * HOUR, axis: "Day (UTC)" },
];
const MAX_KEYS_SUMMED = 50;

function bucketLabel(iso: string, granularity: UsageGranularity): string {
  const date = new Date(iso);
  if (granularity === "DAY") return date.toLocaleDateString("en", { month: "short", day: "numeric", timeZone: "UTC" });
  return date.toLocaleTimeString("en", { hour: "2-digit", minute: "2-digit", hour12: false });
}

/** Buckets of one key, or of every key of the service summed bucket by bucket. */
async function loadUsage(keyIds: string[], range: Range, to: Date) {
  const from = new Date(to.getTime() - range.span).toISOString();
  const all = await Promise.all(keyIds.map((keyId) => request(KeyUsageDocument, { keyId, from, to: to.toISOString(), granularity: range.granularity })));
  const totals = new Map<string, Bucket>();
  for (const { keyUsage } of all) {
    for (const bucket of keyUsage) {
      const sum = totals.get(bucket.start) ?? { start: bucket.start, valid: 0, rateLimited: 0, usageExceeded: 0, denied: 0 };
      for (const { key } of OUTCOMES) sum[key] += bucket[key];
      totals.set(bucket.start, sum);
    }
  }
  return [...totals.values()].sort((a, b) => a.start.localeCompare(b.start));
}

export default function UsagePage() {
  const params = new URLSearchParams(useSearch());
  const [service, setService] = useState<ServiceInfo>(serviceBySlug(params.get("service") ?? undefined) ?? SERVICES[0]!);
  const [keyId, setKeyId] = useState<string>(params.get("key") ?? "");
  const [range, setRange] = useState<Range>(RANGES[0]!);
  const queryClient = useQueryClient();
  const ids = { service: useId(), key: useId(), range: useId() };

  const keys = useQuery({
    queryKey: ["usageKeys", service.id],
    // The live table and the revoked keys: a key's verifications still count after it is revoked.
    queryFn: async () => {
      const keysWith = (status: "REVOKED" | null) => request(ApiKeysDocument, { service: service.id, status, first: MAX_KEYS_SUMMED, after: null });
      const [live, revoked] = await Promise.all([keysWith(null), keysWith("REVOKED")]);
      return [...live.apiKeys.edges, ...revoked.apiKeys.edges].map((e) => e.node);
    },
  });
  const keyList = keys.data ?? [];
  const selected = keyList.find((k) => k.id === keyId);
  const keyIds = selected ? [selected.id] : keyList.map((k) => k.id);

  const usage = useQuery({
    queryKey: ["usage", service.id, keyIds, range.id],
    queryFn: () => loadUsage(keyIds, range, new Date()),
    enabled: keys.isSuccess,
  });
  useSubscription(KeyUsedDocument, { service: service.id }, () => void queryClient.invalidateQueries({ queryKey: ["usage", service.id] }));

  const buckets = usage.data ?? [];
  const total = buckets.reduce((sum, b) => sum + bucketTotal(b), 0);
  const byOutcome = OUTCOMES.map((o) => ({ ...o, count: buckets.reduce((sum, b) => sum + b[o.key], 0) }));
  const subject = selected ? `key “${selected.name}” (${selected.maskedKey})` : `all ${service.label} keys`;

  return (
    <section aria-labelledby="usage-title">
      <h1 id="usage-title">Usage</h1>
      <div className="filters">
        <div className="field inline">
          <label htmlFor={ids.service}>Service</label>
          <select
            id={ids.service}
            value={service.slug}
            onChange={(e) => {
              setService(serviceBySlug(e.target.value) ?? SERVICES[0]!);
              setKeyId("");
            }}
          >
            {SERVICES.map((s) => (
              <option key={s.id} value={s.slug}>
                {s.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field inline">
          <label htmlFor={ids.key}>Key</label>
          <select id={ids.key} value={selected ? keyId : ""} onChange={(e) => setKeyId(e.target.value)}>
            <option value="">All keys of the service</option>
            {keyList.map((k) => (
              <option key={k.id} value={k.id}>
                {k.status === "REVOKED" ? `${k.name} (revoked)` : k.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field inline">
          <label htmlFor={ids.range}>Period</label>
          <select id={ids.range} value={range.id} onChange={(e) => setRange(RANGES.find((r) => r.id === e.target.value) ?? RANGES[0]!)}>
            {RANGES.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
          </select>
        </div>
      </div>
      <p className="summary" aria-live="polite">
        {usage.isSuccess ? `${total.toLocaleString("en")} verifications of ${subject}, ${range.label.toLowerCase()}.` : "Loading…"}
      </p>
      {usage.isSuccess && total > 0 && (
        <ul className="outcomes" aria-label="Verifications by outcome">
          {byOutcome.map((o) => (
            <li key={o.key} data-outcome={o.key}>
              <span className="swatch" style={{ background: o.color }} aria-hidden="true" />
              {o.label}: <strong>{o.count.toLocaleString("en")}</strong>
            </li>
          ))}
        </ul>
      )}
      {usage.isSuccess && keyIds.length === 0 && <div className="empty-state"><p className="empty-title">No keys for {service.label} yet.</p></div>}
      {usage.isSuccess && keyIds.length > 0 && total === 0 && (
        <div className="empty-state">
          <p className="empty-title">No usage in this period.</p>
          <p className="muted">Each verification a gateway asks for appears here within seconds, accepted or refused.</p>
        </div>
      )}
      {usage.isSuccess && total > 0 && <UsageChart buckets={buckets} range={range} subject={subject} />}
    </section>
  );
}

function UsageChart({ buckets, range, subject }: { buckets: Bucket[]; range: Range; subject: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<"bar"> | null>(null);
  useEffect(() => {
    if (!canvas.current) return;
    chart.current = new Chart(canvas.current, {
      type: "bar",
      data: { labels: [], datasets: OUTCOMES.map((o) => ({ label: o.label, data: [], backgroundColor: o.color, borderRadius: 2 })) },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: true, title: { display: true, text: range.axis }, ticks: { maxTicksLimit: 12, autoSkip: true }, grid: { display: false } },
          y: { stacked: true, beginAtZero: true, title: { display: true, text: "Verifications (count)" }, ticks: { precision: 0 } },
        },
        plugins: { legend: { position: "bottom" }, tooltip: { callbacks: { title: (items) => new Date(buckets[items[0]?.dataIndex ?? 0]?.start ?? 0).toLocaleString("en") } } },
      },
    });
    return () => chart.current?.destroy();
  }, [range]);
  useEffect(() => {
    const current = chart.current;
    if (!current) return;
    current.data.labels = buckets.map((b) => bucketLabel(b.start, range.granularity));
    OUTCOMES.forEach((o, index) => (current.data.datasets[index]!.data = buckets.map((b) => b[o.key])));
    current.options.plugins!.tooltip!.callbacks!.title = (items) => new Date(buckets[items[0]?.dataIndex ?? 0]?.start ?? 0).toLocaleString("en");
    current.update();
  }, [buckets, range]);
  return (
    <div className="chart">
      <canvas ref={canvas} role="img" aria-label={`Bar chart of verifications of ${subject} by outcome, ${range.label.toLowerCase()}`} />
    </div>
  );
}
