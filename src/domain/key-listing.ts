import type { KeyStatus } from "./services.js";

/** The live key table shows keys that can still be used or switched on; revoked keys are listed apart. */
export const LIVE_STATUSES: readonly KeyStatus[] = ["ACTIVE", "INACTIVE"];

/** The statuses a key table lists: the one asked for, or the live ones. */
export function listedStatuses(status: KeyStatus | null | undefined): KeyStatus[] {
  return status ? [status] : [...LIVE_STATUSES];
}
