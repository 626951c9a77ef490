/**
 * Named sliding-window rate limits, exact as an upper bound: over ANY window of `durationMs`, at
 * most `limit` cost is admitted. Admissions are kept in sub-windows of durationMs / SUB_WINDOWS;
 * a check counts every sub-window that overlaps the window ending now, in full. That errs on the
 * side of denying (never admits more than the limit), keeps the state small (at most
 * SUB_WINDOWS + 1 entries per limit, whatever the limit), and a burst admits exactly `limit`.
 *
 * Proof sketch of the bound: take any window W of length D and its last admission at t. Every
 * earlier admission in W lies in (t - D, t], so its sub-window overlaps the window checked at t
 * and was counted: the admissions in W add up to at most `limit`.
 */

export const SUB_WINDOWS = 60;

export interface Ratelimit {
  name: string;
  limit: number;
  durationMs: number;
}

/** Admitted cost per sub-window start (ms since epoch), oldest first. */
export type WindowState = ReadonlyArray<readonly [start: number, cost: number]>;

export interface RatelimitOutcome {
  name: string;
  limit: number;
  /** Cost that could still be admitted now, after this request when it was admitted. */
  remaining: number;
  /** When the oldest admitted cost leaves the window (now when nothing is counted). */
  resetAt: number;
  admitted: boolean;
}

export function subWindowMs(durationMs: number): number {
  return Math.max(1, Math.ceil(durationMs / SUB_WINDOWS));
}

/** Sub-windows that still overlap the window (now - durationMs, now]. */
export function liveEntries(state: WindowState, limit: Ratelimit, now: number): WindowState {
  const width = subWindowMs(limit.durationMs);
  return state.filter(([start]) => start + width > now - limit.durationMs);
}

/** Whether `cost` fits under `limit` now, and the figures to answer with; the state is not changed. */
export function checkRatelimit(state: WindowState, limit: Ratelimit, cost: number, now: number): RatelimitOutcome {
  const live = liveEntries(state, limit, now);
  const used = live.reduce((sum, [, c]) => sum + c, 0);
  const admitted = used + cost <= limit.limit;
  // What this request admits counts too: into an empty window, its own cost is the oldest.
  const width = subWindowMs(limit.durationMs);
  const oldest = live[0] ?? (admitted && cost > 0 ? [Math.floor(now / width) * width, cost] : undefined);
  return {
    name: limit.name,
    limit: limit.limit,
    remaining: Math.max(0, limit.limit - used - (admitted ? cost : 0)),
    resetAt: oldest ? oldest[0] + width + limit.durationMs : now,
    admitted,
  };
}

/**
 * Entries kept under a limit whose duration changed, moved onto the new sub-window grid: each to
 * the sub-window holding its old span's last instant, so none leaves the window earlier than its
 * admissions do (a shorter sub-window must not drop cost admitted late in a longer one).
 */
export function regrid(state: WindowState, oldDurationMs: number, newDurationMs: number): WindowState {
  const oldWidth = subWindowMs(oldDurationMs);
  const newWidth = subWindowMs(newDurationMs);
  if (oldWidth === newWidth) return state;
  const merged = new Map<number, number>();
  for (const [start, cost] of state) {
    const moved = Math.floor((start + oldWidth - 1) / newWidth) * newWidth;
    merged.set(moved, (merged.get(moved) ?? 0) + cost);
  }
  return [...merged].sort(([a], [b]) => a - b);
}

/** The state after admitting `cost` now (pruned of sub-windows that left the window). */
export function admit(state: WindowState, limit: Ratelimit, cost: number, now: number): WindowState {
  const live = liveEntries(state, limit, now);
  if (cost === 0) return live;
  const width = subWindowMs(limit.durationMs);
  const start = Math.floor(now / width) * width;
  const last = live.at(-1);
  if (last && last[0] === start) return [...live.slice(0, -1), [start, last[1] + cost]];
  return [...live, [start, cost]];
}
