import type { ConsoleKeyFragment } from "../generated/graphql";
import { windowLabel } from "./KeyPolicyFields";
import { formatExact, RelativeTime, useNow } from "./RelativeTime";

/** Expired by the server's word, or since: a grace period ends without any event to announce it. */
export const isExpired = (key: ConsoleKeyFragment, now: number) => key.expired || (key.expiresAt != null && Date.parse(key.expiresAt) <= now);

/** A rotated key answers until its grace period ends: it can be neither rotated again nor topped up. */
export const isRotating = (key: ConsoleKeyFragment) => key.rotatedTo != null;

export function ExpiresCell({ apiKey }: { apiKey: ConsoleKeyFragment }) {
  const now = useNow();
  if (!apiKey.expiresAt) return <span className="muted">Never</span>;
  if (isExpired(apiKey, now)) {
    return (
      <span className="badge expired" title={`Expired ${formatExact(apiKey.expiresAt)}`}>
        Expired
      </span>
    );
  }
  if (isRotating(apiKey)) {
    return (
      <span className="rotating">
        <span className="badge rotating-badge" title={`Replaced by “${apiKey.rotatedTo?.name}”`}>
          Rotating
        </span>{" "}
        expires <RelativeTime iso={apiKey.expiresAt} />
      </span>
    );
  }
  return <RelativeTime iso={apiKey.expiresAt} />;
}

export function CreditsCell({ apiKey }: { apiKey: ConsoleKeyFragment }) {
  const { credits, ratelimits } = apiKey;
  const refill = credits?.refill;
  return (
    <>
      {credits ? (
        <span className={credits.remaining === 0 ? "credits empty" : "credits"}>{credits.remaining.toLocaleString("en")}</span>
      ) : (
        <span className="muted" title="Not metered">
          Unlimited
        </span>
      )}
      {refill && (
        <span className="cell-note">
          refills to {refill.amount.toLocaleString("en")} {refill.interval === "DAILY" ? "daily" : `monthly (day ${refill.day ?? 1})`}
        </span>
      )}
      {ratelimits.map((limit) => (
        <span key={limit.name} className="cell-note" title={`Rate limit “${limit.name}”`}>
          {limit.limit.toLocaleString("en")} {windowLabel(limit.durationMs)}
        </span>
      ))}
    </>
  );
}
