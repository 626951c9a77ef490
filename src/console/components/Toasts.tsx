import { createContext, useCallback, useContext, useState, type ReactNode } from "react";

type Tone = "success" | "error";
interface Toast {
  id: number;
  tone: Tone;
  title: string;
  text: string;
}

const ToastContext = createContext<(tone: Tone, title: string, text: string) => void>(() => undefined);
let nextId = 1;

/** Notifications in a polite live region; each disappears after a few seconds. */
export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const show = useCallback((tone: Tone, title: string, text: string) => {
    const id = nextId++;
    setToasts((all) => [...all, { id, tone, title, text }]);
    setTimeout(() => setToasts((all) => all.filter((t) => t.id !== id)), 5_000);
  }, []);
  return (
    <ToastContext.Provider value={show}>
      {children}
      <div className="toasts" role="status" aria-live="polite">
        {toasts.map((toast) => (
          <div key={toast.id} className={`toast toast-${toast.tone}`}>
            <strong>{toast.title}</strong> <span>{toast.text}</span>
          </div>
        ))}
      </div>
    </ToastContext.Provider>
  );
}

export const useToast = () => useContext(ToastContext);
