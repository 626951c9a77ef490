export class ConcurrencyError extends Error {
  override name = "ConcurrencyError";
  constructor(
    readonly streamId: string,
    readonly expectedVersion: number,
    readonly actualVersion: number | undefined,
  ) {
    super(
      `Stream ${streamId} is at version ${actualVersion ?? "(changed)"}, not the expected ${expectedVersion}`,
    );
  }
}

export class DuplicateEventError extends Error {
  override name = "DuplicateEventError";
  constructor(readonly eventIds: string[]) {
    super(`Some of these events were already appended with other content: ${eventIds.join(", ")}`);
  }
}
