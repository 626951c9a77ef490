import { useState } from "react";
import type { CreateApiKeyInput, RefillInterval } from "../generated/graphql";
import { Field, SelectField } from "./Field";
import { badInput, wholeNumber, type FieldErrors } from "./forms";

const DAY_MS = 86_400_000;
const EXPIRY_PRESETS = [
  { value: "never", label: "Never" },
  { value: "30", label: "In 30 days" },
  { value: "90", label: "In 90 days" },
  { value: "date", label: "On a date…" },
] as const;
const WINDOWS = [
  { value: "1000", label: "per second" },
  { value: "60000", label: "per minute" },
  { value: "3600000", label: "per hour" },
  { value: String(DAY_MS), label: "per day" },
] as const;
const REFILLS = [
  { value: "", label: "No refill" },
  { value: "DAILY", label: "Daily (00:00 UTC)" },
  { value: "MONTHLY", label: "Monthly" },
] as const;

/** The dialog's fields that carry a server error, by the server's `extensions.field`. */
export const EXPIRY_FIELDS = ["expiresAt"] as const;
export const LIMIT_FIELDS = ["credits.remaining", "credits.refill.interval", "credits.refill.amount", "credits.refill.day", "ratelimits[0].name", "ratelimits[0].limit", "ratelimits[0].durationMs"] as const;

export interface PolicyState {
  expiry: string;
  date: string;
  credits: string;
  refill: string;
  refillAmount: string;
  refillDay: string;
  ratelimitName: string;
  ratelimitLimit: string;
  ratelimitWindow: string;
}

export function usePolicyState() {
  return useState<PolicyState>({ expiry: "never", date: "", credits: "", refill: "", refillAmount: "", refillDay: "1", ratelimitName: "requests", ratelimitLimit: "", ratelimitWindow: "60000" });
}

/** The policies of a new key as the server takes them; a field that cannot be sent is refused at the field. */
export function policyInput(state: PolicyState, now: number): Pick<CreateApiKeyInput, "expiresAt" | "credits" | "ratelimits"> {
  const input: Pick<CreateApiKeyInput, "expiresAt" | "credits" | "ratelimits"> = {};
  if (state.expiry === "30" || state.expiry === "90") input.expiresAt = new Date(now + Number(state.expiry) * DAY_MS).toISOString();
  if (state.expiry === "date") {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(state.date)) throw badInput("expiresAt", "Choose the day the key stops working.");
    input.expiresAt = `${state.date}T00:00:00.000Z`;
  }
  const remaining = wholeNumber("credits.remaining", state.credits);
  if (remaining !== undefined) {
    const interval = state.refill as RefillInterval | "";
    input.credits = {
      remaining,
      refill: interval
        ? {
            interval,
            amount: wholeNumber("credits.refill.amount", state.refillAmount) ?? remaining,
            day: interval === "MONTHLY" ? (wholeNumber("credits.refill.day", state.refillDay) ?? 1) : null,
          }
        : null,
    };
  }
  const limit = wholeNumber("ratelimits[0].limit", state.ratelimitLimit);
  if (limit !== undefined) input.ratelimits = [{ name: state.ratelimitName.trim(), limit, durationMs: Number(state.ratelimitWindow) }];
  return input;
}

type Props = { state: PolicyState; onChange: (state: PolicyState) => void; errors: FieldErrors };

export function ExpiryFields({ state, onChange, errors }: Props) {
  const set = (patch: Partial<PolicyState>) => onChange({ ...state, ...patch });
  return (
    <>
      <SelectField label="Expires" name="expiry" value={state.expiry} onChange={(expiry) => set({ expiry })} options={EXPIRY_PRESETS} error={state.expiry === "date" ? undefined : errors.expiresAt} />
      {state.expiry === "date" && <Field label="Expiry date" name="expiresAt" type="date" value={state.date} onChange={(date) => set({ date })} error={errors.expiresAt} hint="The key stops working at 00:00 UTC that day." />}
    </>
  );
}

/** Credits and one rate limit, folded away until asked for (or until the server finds a problem in them). */
export function LimitFields({ state, onChange, errors }: Props) {
  const set = (patch: Partial<PolicyState>) => onChange({ ...state, ...patch });
  const failing = LIMIT_FIELDS.some((field) => errors[field]);
  const [open, setOpen] = useState(false);
  return (
    <details className="advanced" open={open || failing} onToggle={(event) => setOpen(event.currentTarget.open)}>
      <summary>Usage limits (credits, rate limit)</summary>
      <fieldset>
        <legend>Credits</legend>
        <div className="field-row">
          <Field label="Credits" name="credits" inputMode="numeric" placeholder="Unlimited" value={state.credits} onChange={(credits) => set({ credits })} error={errors["credits.remaining"]} />
          <SelectField label="Refill" name="refill" value={state.refill} onChange={(refill) => set({ refill })} options={REFILLS} error={errors["credits.refill.interval"]} />
          {state.refill && <Field label="Refill to" name="refillAmount" inputMode="numeric" placeholder={state.credits || "Credits"} value={state.refillAmount} onChange={(refillAmount) => set({ refillAmount })} error={errors["credits.refill.amount"]} />}
          {state.refill === "MONTHLY" && <Field label="Day of month" name="refillDay" inputMode="numeric" value={state.refillDay} onChange={(refillDay) => set({ refillDay })} error={errors["credits.refill.day"]} />}
        </div>
        <p className="field-hint">Each verification spends one credit; at 0 the key answers USAGE_EXCEEDED until a refill or a top-up.</p>
      </fieldset>
      <fieldset>
        <legend>Rate limit</legend>
        <div className="field-row">
          <Field label="Limit name" name="ratelimitName" value={state.ratelimitName} onChange={(ratelimitName) => set({ ratelimitName })} error={errors["ratelimits[0].name"]} />
          <Field label="Requests" name="ratelimitLimit" inputMode="numeric" placeholder="No limit" value={state.ratelimitLimit} onChange={(ratelimitLimit) => set({ ratelimitLimit })} error={errors["ratelimits[0].limit"]} />
          <SelectField label="Window" name="ratelimitWindow" value={state.ratelimitWindow} onChange={(ratelimitWindow) => set({ ratelimitWindow })} options={WINDOWS} error={errors["ratelimits[0].durationMs"]} />
        </div>
      </fieldset>
    </details>
  );
}

export const windowLabel = (durationMs: number) => WINDOWS.find((w) => Number(w.value) === durationMs)?.label ?? `per ${durationMs / 1000} s`;
