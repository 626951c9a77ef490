/** Typed outcomes of a decision that is refused; the GraphQL layer maps each to an error code. */
export type DomainError =
  | { kind: "invalid"; field: string; message: string }
  | { kind: "not_found" }
  | { kind: "conflict"; message: string };

export class DomainRejection extends Error {
  override name = "DomainRejection";
  constructor(readonly error: DomainError) {
    super(error.kind === "not_found" ? "not found" : error.message);
  }
}

export const invalid = (field: string, message: string): DomainError => ({ kind: "invalid", field, message });
export const conflict = (message: string): DomainError => ({ kind: "conflict", message });
