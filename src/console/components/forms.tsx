import { useState, type FormEvent } from "react";
import { ApiError, errorMessage } from "../api/client";

/** Messages by the server's `extensions.field` ("name", "credits.remaining", "ratelimits[0].limit"…); `form` for the rest. */
export type FieldErrors = Partial<Record<string, string>>;

/** A problem found before sending, reported the way the server reports its own. */
export const badInput = (field: string, message: string) => new ApiError(message, "BAD_USER_INPUT", field);

/** The server's error, placed next to the field it names when the dialog shows that field (or above the buttons). */
function fieldErrorsOf(error: unknown, fields: readonly string[]): FieldErrors {
  if (error instanceof ApiError && error.code === "BAD_USER_INPUT" && error.field && fields.includes(error.field)) {
    return { [error.field]: error.message };
  }
  if (error instanceof ApiError && error.stale) return { form: "This key was changed elsewhere in the meantime; close the dialog to see its current state." };
  return { form: errorMessage(error) };
}

/** Runs a dialog's action once per submit; a failure lands next to its field and the dialog stays open. */
export function useSubmit(fields: readonly string[], action: () => Promise<void>) {
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      await action();
    } catch (error) {
      setErrors(fieldErrorsOf(error, fields));
      setBusy(false);
    }
  }
  return { errors, busy, submit };
}

export function FormActions({ busy, submitLabel, onCancel, error, danger }: { busy: boolean; submitLabel: string; onCancel: () => void; error?: string; danger?: boolean }) {
  return (
    <>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <div className="dialog-actions">
        <button type="button" className="button secondary" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className={danger ? "button danger" : "button primary"} disabled={busy}>
          {submitLabel}
        </button>
      </div>
    </>
  );
}

/** A whole number typed into a text field; empty is `undefined`, anything else not whole is refused at the field. */
export function wholeNumber(field: string, text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  const value = Number(trimmed);
  if (!Number.isSafeInteger(value)) throw badInput(field, "Enter a whole number.");
  return value;
}
