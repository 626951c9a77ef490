import { useState } from "react";
import { request } from "../api/client";
import { CreateApiKeyDocument, RevokeApiKeyDocument, UpdateApiKeyDocument, type ConsoleKeyFragment } from "../generated/graphql";
import type { ServiceInfo } from "../services";
import { CopyButton } from "./CopyButton";
import { Dialog } from "./Dialog";
import { Field } from "./Field";
import { FormActions, useSubmit } from "./forms";
import { EXPIRY_FIELDS, ExpiryFields, LIMIT_FIELDS, LimitFields, policyInput, usePolicyState } from "./KeyPolicyFields";
import { formatExact } from "./RelativeTime";

export interface CreatedKey {
  secret: string;
  apiKey: ConsoleKeyFragment;
  /** Set when the key replaced a rotated one. */
  previous?: ConsoleKeyFragment;
}

const CREATE_FIELDS = ["name", "description", ...EXPIRY_FIELDS, ...LIMIT_FIELDS];

export function CreateKeyDialog({ service, onClose, onCreated }: { service: ServiceInfo; onClose: () => void; onCreated: (created: CreatedKey) => void }) {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [policies, setPolicies] = usePolicyState();
  const { errors, busy, submit } = useSubmit(CREATE_FIELDS, async () => {
    const { createApiKey } = await request(CreateApiKeyDocument, {
      input: { service: service.id, name, description: description.trim() === "" ? null : description, ...policyInput(policies, Date.now()) },
    });
    onCreated(createApiKey);
  });

  return (
    <Dialog title={`New API Key for ${service.label} Service`} description="Create new API key to use." onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <Field label="Key Name" name="name" value={name} onChange={setName} required error={errors.name} autoFocus />
        <Field label="Key Description" name="description" value={description} onChange={setDescription} error={errors.description} multiline />
        <ExpiryFields state={policies} onChange={setPolicies} errors={errors} />
        <LimitFields state={policies} onChange={setPolicies} errors={errors} />
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
      {created.previous && <PreviousKeyNote previous={created.previous} />}
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

/** After a rotation: until when the replaced key keeps answering. */
function PreviousKeyNote({ previous }: { previous: ConsoleKeyFragment }) {
  const until = previous.expiresAt;
  const graceful = until !== null && until !== undefined && Date.parse(until) > Date.now();
  return (
    <p className="previous-key">
      It replaces <code>{previous.maskedKey}</code>, which {graceful ? (
        <>
          keeps working until <time dateTime={until}>{formatExact(until)}</time>: deploy the new key before then
        </>
      ) : (
        "has stopped working"
      )}
      .
    </p>
  );
}

export function EditKeyDialog({ apiKey, onClose, onSaved }: { apiKey: ConsoleKeyFragment; onClose: () => void; onSaved: () => void }) {
  const [name, setName] = useState(apiKey.name);
  const [description, setDescription] = useState(apiKey.description ?? "");
  const { errors, busy, submit } = useSubmit(["name", "description"], async () => {
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
  const { errors, busy, submit } = useSubmit(["reason"], async () => {
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
