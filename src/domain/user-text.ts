import { invalid, type DomainError } from "./errors.js";

export const NAME_MAX = 64;
export const DESCRIPTION_MAX = 256;
export const REASON_MAX = 256;

const CONTROL_CHARACTERS = /\p{Cc}/u;
/** With the u flag a lone surrogate is a code point of its own (category Cs); a valid pair is one astral code point. */
const LONE_SURROGATE = /\p{Cs}/u;
/**
 * Bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) and marks (U+200E, U+200F,
 * U+061C): they make text display in another order than it is stored ("Trojan Source").
 */
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/u;
/** Text that renders as nothing: whitespace, format characters (U+200B–U+200D, U+2060, U+FEFF…) and default-ignorables. */
const NOTHING_VISIBLE = /^[\p{White_Space}\p{Cf}\p{Default_Ignorable_Code_Point}]*$/u;

export type Checked<T> = { value: T } | { error: DomainError };

/** Trimmed text, or why it is refused. Optional text that trims to nothing is null. */
function checkText(field: string, raw: string, max: number, required: boolean): Checked<string | null> {
  if (CONTROL_CHARACTERS.test(raw)) return { error: invalid(field, `${field} must not contain control characters`) };
  if (LONE_SURROGATE.test(raw)) return { error: invalid(field, `${field} must be valid Unicode: it contains a lone surrogate`) };
  if (BIDI_CONTROLS.test(raw)) return { error: invalid(field, `${field} must not contain bidirectional control characters`) };
  const value = raw.trim();
  const length = [...value].length;
  if (required && length === 0) return { error: invalid(field, `${field} must not be empty`) };
  if (required && NOTHING_VISIBLE.test(value)) return { error: invalid(field, `${field} must contain a visible character`) };
  if (length > max) return { error: invalid(field, `${field} must be at most ${max} characters`) };
  return { value: length === 0 ? null : value };
}

const checkOptional = (field: string, raw: string | null | undefined, max: number): Checked<string | null> =>
  raw == null ? { value: null } : checkText(field, raw, max, false);

export const checkName = (raw: string) => checkText("name", raw, NAME_MAX, true) as Checked<string>;
export const checkDescription = (raw: string | null | undefined) => checkOptional("description", raw, DESCRIPTION_MAX);
export const checkReason = (raw: string | null | undefined) => checkOptional("reason", raw, REASON_MAX);
