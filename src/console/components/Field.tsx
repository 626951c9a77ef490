import { useId, type ReactNode } from "react";

interface Common {
  label: string;
  name: string;
  value: string;
  onChange: (value: string) => void;
  required?: boolean;
  error?: string;
  autoFocus?: boolean;
  hint?: string;
}

/** Label, control and the server's BAD_USER_INPUT message right under it, wired for assistive technology. */
function FieldFrame({ id, props, control }: { id: string; props: Common; control: (aria: Record<string, unknown>) => ReactNode }) {
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const describedBy = [props.error ? errorId : null, props.hint ? hintId : null].filter(Boolean).join(" ");
  const aria = {
    id,
    name: props.name,
    "data-autofocus": props.autoFocus || undefined,
    "aria-required": props.required || undefined,
    "aria-invalid": props.error ? true : undefined,
    "aria-describedby": describedBy || undefined,
  };
  return (
    <div className="field">
      <label htmlFor={id}>
        {props.label}
        {props.required && (
          <span className="required" aria-hidden="true">
            {" "}
            *
          </span>
        )}
      </label>
      {control(aria)}
      {props.error && (
        <p id={errorId} className="field-error" role="alert">
          {props.error}
        </p>
      )}
      {props.hint && (
        <p id={hintId} className="field-hint">
          {props.hint}
        </p>
      )}
    </div>
  );
}

/** A labelled text field whose error (the server's BAD_USER_INPUT message) sits right under it. */
export function Field(props: Common & { multiline?: boolean; placeholder?: string; type?: string; inputMode?: "numeric" | "text" }) {
  const id = useId();
  return (
    <FieldFrame
      id={id}
      props={props}
      control={(aria) =>
        props.multiline ? (
          <textarea {...aria} value={props.value} placeholder={props.placeholder} rows={3} onChange={(e) => props.onChange(e.target.value)} />
        ) : (
          <input {...aria} value={props.value} placeholder={props.placeholder} type={props.type ?? "text"} inputMode={props.inputMode} autoComplete="off" onChange={(e) => props.onChange(e.target.value)} />
        )
      }
    />
  );
}

/** A labelled <select> with the same error placement as Field. */
export function SelectField(props: Common & { options: readonly { value: string; label: string }[] }) {
  const id = useId();
  return (
    <FieldFrame
      id={id}
      props={props}
      control={(aria) => (
        <select {...aria} value={props.value} onChange={(e) => props.onChange(e.target.value)}>
          {props.options.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
      )}
    />
  );
}
