// Progress of the long CLIs (replay, rebuild, export, audit:verify): a bar with rate and ETA on a
// terminal, a log line every few seconds otherwise (CI, pipes, files).
import cliProgress from "cli-progress";
import type { Database, QueryResult, Row, SqlClient } from "../src/db/database.js";

export interface Progress {
  /** Sets how far the work is (same unit as the total). */
  update(done: number): void;
  increment(by?: number): void;
  setTotal(total: number): void;
  stop(): void;
}

const LOG_EVERY_MS = Number(process.env.PROGRESS_INTERVAL_MS ?? 5_000);

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60 ? `${minutes}m${Math.round(seconds % 60)}s` : `${Math.floor(minutes / 60)}h${minutes % 60}m`;
}

/** Shows progress on stderr (stdout stays clean for the JSON results). */
export function startProgress(label: string, total: number, unit = "events", stream: NodeJS.WriteStream = process.stderr): Progress {
  const started = performance.now();
  let done = 0;
  const rate = () => done / Math.max((performance.now() - started) / 1000, 0.001);

  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}`,
        stream,
        hideCursor: true,
        etaBuffer: 20,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { rate: "0" });
    const show = () => bar.update(done, { rate: Math.round(rate()).toLocaleString("en") });
    return {
      update: (value) => ((done = value), show()),
      increment: (by = 1) => ((done += by), show()),
      setTotal: (value) => bar.setTotal(value),
      stop: () => (show(), bar.stop()),
    };
  }

  let lastLog = started;
  const line = (final: boolean) => {
    const perSecond = rate();
    const percent = total > 0 ? ` (${Math.min(100, Math.floor((done / total) * 100))}%)` : "";
    const elapsed = (performance.now() - started) / 1000;
    const eta = final ? `done in ${formatSeconds(elapsed)}` : `ETA ${done > 0 && elapsed >= 1 ? formatSeconds((total - done) / perSecond) : "?"}`;
    stream.write(`${label}: ${done}/${total} ${unit}${percent}, ${Math.round(perSecond)}/s, ${eta}\n`);
  };
  const maybeLog = () => {
    const now = performance.now();
    if (now - lastLog >= LOG_EVERY_MS) {
      lastLog = now;
      line(false);
    }
  };
  return {
    update: (value) => ((done = value), maybeLog()),
    increment: (by = 1) => ((done += by), maybeLog()),
    setTotal: (value) => void (total = value),
    stop: () => line(true),
  };
}

/** The largest log position among rows read through `sql` (rows of the events table carry position and event_id). */
export function observingLogReads(sql: SqlClient, onPosition: (position: number) => void): SqlClient {
  return {
    async query<R extends Row = Row>(text: string, params?: unknown[]): Promise<QueryResult<R>> {
      const result = await sql.query<R>(text, params);
      const last = result.rows.at(-1);
      if (last && "event_id" in last && "position" in last) onPosition(Number(last.position));
      return result;
    },
    exec: (script) => sql.exec(script),
  };
}

/** `db` with its queries and transactions reporting the log positions they read. */
export function observingDatabase(db: Database, onPosition: (position: number) => void): Database {
  const observed = observingLogReads(db, onPosition);
  return { ...db, query: observed.query, transaction: (work) => db.transaction((tx) => work(observingLogReads(tx, onPosition))) };
}

/** Counts the lines of a file (an NDJSON export's events) without holding it in memory. */
export async function countLines(path: string): Promise<number> {
  const { createReadStream } = await import("node:fs");
  let lines = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
  }
  return lines;
}

/** Passes `source` through, counting each item into `progress`. */
export async function* counted<T>(source: AsyncIterable<T>, progress: Progress): AsyncGenerator<T> {
  for await (const item of source) {
    progress.increment();
    yield item;
  }
}
