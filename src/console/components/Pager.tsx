import { useState } from "react";

/** Forward cursor paging with a way back: the stack of `after` cursors of the pages seen. */
export function useCursorPages() {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  return {
    after: cursors[cursors.length - 1] ?? null,
    page: cursors.length,
    next: (cursor: string | null | undefined) => setCursors((c) => [...c, cursor ?? null]),
    previous: () => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c)),
    reset: () => setCursors([null]),
  };
}

export function Pager({ pages, pageInfo, summary }: { pages: ReturnType<typeof useCursorPages>; pageInfo: { hasNextPage: boolean; endCursor?: string | null }; summary?: string }) {
  if (pages.page === 1 && !pageInfo.hasNextPage) return null;
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" className="button secondary" disabled={pages.page === 1} onClick={pages.previous}>
        Previous
      </button>
      <span className="muted">
        Page {pages.page}
        {summary ? ` · ${summary}` : ""}
      </span>
      <button type="button" className="button secondary" disabled={!pageInfo.hasNextPage} onClick={() => pages.next(pageInfo.endCursor)}>
        Next
      </button>
    </nav>
  );
}
