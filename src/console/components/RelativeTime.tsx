import { useEffect, useState } from "react";

const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
const exact = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "medium" });
const day = new Intl.DateTimeFormat("en", { dateStyle: "medium" });

const STEPS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["second", 60],
  ["minute", 60],
  ["hour", 24],
  ["day", 30],
  ["month", 12],
  ["year", Number.POSITIVE_INFINITY],
];

export function describeRelative(date: Date, now: number): string {
  let amount = (date.getTime() - now) / 1000;
  if (Math.abs(amount) < 10) return "just now";
  for (const [unit, size] of STEPS) {
    if (Math.abs(amount) < size) return relative.format(Math.round(amount), unit);
    amount /= size;
  }
  return exact.format(date);
}

/** The current time, renewed every 15 s so that relative times and expiries stay true on an open page. */
export function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 15_000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

/** "3 minutes ago" (or "in 2 days"), with the exact time on hover. */
export function RelativeTime({ iso }: { iso: string }) {
  const now = useNow();
  const date = new Date(iso);
  return (
    <time dateTime={iso} title={exact.format(date)}>
      {describeRelative(date, Math.max(now, Date.now() - 1))}
    </time>
  );
}

export const formatDay = (iso: string) => day.format(new Date(iso));
export const formatExact = (iso: string) => exact.format(new Date(iso));
