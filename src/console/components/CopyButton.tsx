import { useState } from "react";
import { CopyIcon } from "./icons";

/** Copies `text` to the clipboard; the label says what it copies, the button says when it did. */
export function CopyButton({ text, label, autoFocus }: { text: string; label: string; autoFocus?: boolean }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="icon-button copy-button"
      aria-label={label}
      data-autofocus={autoFocus || undefined}
      title={copied ? "Copied" : label}
      onClick={() => {
        void navigator.clipboard.writeText(text).then(() => {
          setCopied(true);
          setTimeout(() => setCopied(false), 1_500);
        });
      }}
    >
      <CopyIcon />
      {copied && <span className="copied">Copied</span>}
    </button>
  );
}
