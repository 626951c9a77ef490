import { invalid, type DomainError } from "./errors.js";

export const NAME_MAX = 64;
export const DESCRIPTION_MAX = 256;
export const REASON_MAX = 256;

const CONTROL_CHARACTERS = /\p{Cc}/u;

export type Checked<T> = { value: T } | { error: DomainError };

/** Trimmed text, or why it is refused. Optional text that trims to nothing is null. */
function checkText(field: string, raw: string, max: number, required: boolean): Checked<string | null> {
  if (CONTROL_CHARACTERS.test(raw)) return { error: invalid(field, `${field} must not contain control characters`) };
  const value = raw.trim();
  const length = [...value].length;
  if (required && length === 0) return { error: invalid(field, `${field} must not be empty`) };
  if (length > max) return { error: invalid(field, `${field} must be at most ${max} characters`) };
  return { value: length === 0 ? null : value };
}

const checkOptional = (field: string, raw: string | null | undefined, max: number): Checked<string | null> =>
  raw == null ? { value: null } : checkText(field, raw, max, false);

export const checkName = (raw: string) => checkText("name", raw, NAME_MAX, true) as Checked<string>;
export const checkDescription = (raw: string | null | undefined) => checkOptional("description", raw, DESCRIPTION_MAX);
export const checkReason = (raw: string | null | undefined) => checkOptional("reason", raw, REASON_MAX);
