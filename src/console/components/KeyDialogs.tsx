import { useState, type FormEvent } from "react";
import { ApiError, errorMessage, request } from "../api/client";
import { CreateApiKeyDocument, RevokeApiKeyDocument, UpdateApiKeyDocument, type ConsoleKeyFragment } from "../generated/graphql";
import type { ServiceInfo } from "../services";
import { CopyButton } from "./CopyButton";
import { Dialog } from "./Dialog";
import { Field } from "./Field";

type FieldErrors = Partial<Record<"name" | "description" | "reason" | "form", string>>;

/** The server's error, placed next to the field it names (or above the buttons). */
function fieldErrorsOf(error: unknown): FieldErrors {
  if (error instanceof ApiError && error.code === "BAD_USER_INPUT" && (error.field === "name" || error.field === "description" || error.field === "reason")) {
    return { [error.field]: error.message };
  }
  return { form: errorMessage(error) };
}

/** Runs a dialog's action once per submit; a failure lands next to its field and the dialog stays open. */
function useSubmit(action: () => Promise<void>) {
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      await action();
    } catch (error) {
      setErrors(fieldErrorsOf(error));
      setBusy(false);
    }
  }
  return { errors, busy, submit };
}

function FormActions({ busy, submitLabel, onCancel, error, danger }: { busy: boolean; submitLabel: string; onCancel: () => void; error?: string; danger?: boolean }) {
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

export interface CreatedKey {
  secret: string;
  apiKey: ConsoleKeyFragment;
}

export function CreateKeyDialog({ service, onClose, onCreated }: { service: ServiceInfo; onClose: () => void; onCreated: (created: CreatedKey) => void }) {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const { errors, busy, submit } = useSubmit(async () => {
    const { createApiKey } = await request(CreateApiKeyDocument, {
      input: { service: service.id, name, description: description.trim() === "" ? null : description },
    });
    onCreated(createApiKey);
  });

  return (
    <Dialog title={`New API Key for ${service.label} Service`} description="Create new API key to use." onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <Field label="Key Name" name="name" value={name} onChange={setName} required error={errors.name} autoFocus />
        <Field label="Key Description" name="description" value={description} onChange={setDescription} error={errors.description} multiline />
        <FormActions busy={busy} submitLabel="Create" onCancel={onClose} error={errors.form} />
      </form>
    </Dialog>
  );
}

/** The one time the full key is shown. It lives in this component's props only: closing unmounts it. */
export function SecretDialog({ created, onClose, onViewDetails }: { created: CreatedKey; onClose: () => void; onViewDetails: () => void }) {
  return (
    <Dialog title="API Key has been successfully generated." onClose={onClose} className="secret-dialog">
      <p className="warning" role="note">
        Copy this key now and keep it somewhere safe. This is the only time it is shown: keyledger stores only its hash.
      </p>
      <div className="secret-row">
        <code className="secret" aria-label="Your new API key">
          {created.secret}
        </code>
        <CopyButton text={created.secret} label="Copy API key" autoFocus />
      </div>
      <div className="dialog-actions">
        <button type="button" className="button secondary" onClick={onViewDetails}>
          View Details
        </button>
        <button type="button" className="button primary" onClick={onClose}>
          Close
        </button>
      </div>
    </Dialog>
  );
}

export function EditKeyDialog({ apiKey, onClose, onSaved }: { apiKey: ConsoleKeyFragment; onClose: () => void; onSaved: () => void }) {
  const [name, setName] = useState(apiKey.name);
  const [description, setDescription] = useState(apiKey.description ?? "");
  const { errors, busy, submit } = useSubmit(async () => {
    await request(UpdateApiKeyDocument, { input: { id: apiKey.id, name, description, expectedVersion: apiKey.version } });
    onSaved();
  });

  return (
    <Dialog title={`Edit ${apiKey.name}`} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <Field label="Key Name" name="name" value={name} onChange={setName} required error={errors.name} autoFocus />
        <Field label="Key Description" name="description" value={description} onChange={setDescription} error={errors.description} multiline />
        <FormActions busy={busy} submitLabel="Save" onCancel={onClose} error={errors.form} />
      </form>
    </Dialog>
  );
}

export function RevokeKeyDialog({ apiKey, onClose, onRevoked }: { apiKey: ConsoleKeyFragment; onClose: () => void; onRevoked: () => void }) {
  const [reason, setReason] = useState("");
  const { errors, busy, submit } = useSubmit(async () => {
    await request(RevokeApiKeyDocument, { input: { id: apiKey.id, reason: reason.trim() === "" ? null : reason } });
    onRevoked();
  });

  return (
    <Dialog title={`Revoke ${apiKey.name}?`} description="Applications using this key stop working at once. Revoking cannot be undone." onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <Field label="Reason" name="reason" value={reason} onChange={setReason} error={errors.reason} autoFocus />
        <FormActions busy={busy} submitLabel="Revoke" onCancel={onClose} error={errors.form} danger />
      </form>
    </Dialog>
  );
}
