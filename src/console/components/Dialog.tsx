import { useEffect, useId, useRef, type ReactNode } from "react";

/**
 * A native modal <dialog>: the browser traps focus, Escape closes it and focus returns to the
 * opener; an element marked data-autofocus gets the focus. Mounted only while open, so nothing it showed stays in the DOM afterwards.
 */
export function Dialog({ title, description, onClose, children, className }: { title: string; description?: string; onClose: () => void; children: ReactNode; className?: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const descriptionId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    // showModal focuses the first focusable element (the × button); the field to type in is better.
    dialog?.querySelector<HTMLElement>("[data-autofocus]")?.focus();
    return () => dialog?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      className={className ? `dialog ${className}` : "dialog"}
      aria-labelledby={titleId}
      aria-describedby={description ? descriptionId : undefined}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      <header className="dialog-header">
        <h2 id={titleId}>{title}</h2>
        <button type="button" className="icon-button" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </header>
      {description && (
        <p id={descriptionId} className="muted">
          {description}
        </p>
      )}
      {children}
    </dialog>
  );
}
