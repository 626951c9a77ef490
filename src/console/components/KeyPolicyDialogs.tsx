import { useId, useState } from "react";
import { request } from "../api/client";
import { AddCreditsDocument, RotateApiKeyDocument, type ConsoleKeyFragment } from "../generated/graphql";
import { Dialog } from "./Dialog";
import { Field } from "./Field";
import { badInput, FormActions, useSubmit, wholeNumber } from "./forms";
import type { CreatedKey } from "./KeyDialogs";

const HOUR_MS = 3_600_000;
const GRACE_PERIODS = [
  { ms: 0, label: "Now", hint: "the old key stops working at once" },
  { ms: HOUR_MS, label: "In 1 hour", hint: "" },
  { ms: 24 * HOUR_MS, label: "In 24 hours", hint: "" },
  { ms: 7 * 24 * HOUR_MS, label: "In 7 days", hint: "the longest grace period" },
] as const;

/** Rotation: a new secret for the same key settings; the old one answers until the chosen grace period ends. */
export function RotateKeyDialog({ apiKey, onClose, onRotated }: { apiKey: ConsoleKeyFragment; onClose: () => void; onRotated: (rotated: Required<CreatedKey>) => void }) {
  const [grace, setGrace] = useState<number>(24 * HOUR_MS);
  const legendId = useId();
  const { errors, busy, submit } = useSubmit(["gracePeriodMs"], async () => {
    const { rotateApiKey } = await request(RotateApiKeyDocument, { input: { id: apiKey.id, gracePeriodMs: grace, expectedVersion: apiKey.version } });
    onRotated(rotateApiKey);
  });
  return (
    <Dialog title={`Rotate ${apiKey.name}?`} description="A new key with the same name, permissions, credits and rate limits replaces this one (it keeps this key's expiry). Its secret is shown once." onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <fieldset className="choices" aria-describedby={errors.gracePeriodMs ? `${legendId}-error` : undefined}>
          <legend id={legendId}>
            When does <code>{apiKey.maskedKey}</code> stop working?
          </legend>
          {GRACE_PERIODS.map((period, index) => (
            <label key={period.ms} className="choice">
              <input type="radio" name="gracePeriod" value={period.ms} checked={grace === period.ms} onChange={() => setGrace(period.ms)} data-autofocus={index === 2 || undefined} />
              {period.label}
              {period.hint && <span className="muted"> ({period.hint})</span>}
            </label>
          ))}
          {errors.gracePeriodMs && (
            <p id={`${legendId}-error`} className="field-error" role="alert">
              {errors.gracePeriodMs}
            </p>
          )}
        </fieldset>
        <FormActions busy={busy} submitLabel="Rotate key" onCancel={onClose} error={errors.form} danger={grace === 0} />
      </form>
    </Dialog>
  );
}

/** A top-up (or, negative, a deduction) of a metered key's balance. */
export function AddCreditsDialog({ apiKey, onClose, onAdded }: { apiKey: ConsoleKeyFragment; onClose: () => void; onAdded: (remaining: number) => void }) {
  const [amount, setAmount] = useState("");
  const { errors, busy, submit } = useSubmit(["amount"], async () => {
    const value = wholeNumber("amount", amount);
    if (value === undefined) throw badInput("amount", "Enter the number of credits to add.");
    // No expectedVersion: additions commute, so one made elsewhere meanwhile is no reason to refuse this one.
    const { addCredits } = await request(AddCreditsDocument, { input: { id: apiKey.id, amount: value } });
    onAdded(addCredits.apiKey.credits?.remaining ?? 0);
  });
  const remaining = apiKey.credits?.remaining ?? 0;
  return (
    <Dialog title={`Add credits to ${apiKey.name}`} description={`Balance now: ${remaining.toLocaleString("en")} credits.`} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <Field label="Credits to add" name="amount" inputMode="numeric" value={amount} onChange={setAmount} required error={errors.amount} autoFocus hint="A negative number removes credits; the balance never goes below 0." />
        <FormActions busy={busy} submitLabel="Add credits" onCancel={onClose} error={errors.form} />
      </form>
    </Dialog>
  );
}
