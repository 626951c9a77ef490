import { badInput } from "../errors.js";

/** `expectedVersion` as commands take it: undefined when not given, BAD_USER_INPUT when negative. */
export function expectedVersionArg(expectedVersion: number | null | undefined): number | undefined {
  if (expectedVersion == null) return undefined;
  if (expectedVersion < 0) throw badInput("expectedVersion", "expectedVersion must not be negative");
  return expectedVersion;
}

export const EXPECTED_VERSION_DESCRIPTION = "Fail with CONFLICT unless the key is still at this version";
