/**
 * The last branch of a switch over a union: it only compiles when every member is handled,
 * so a new command kind, event type or status that a switch forgets is a type error.
 */
export function exhaustive(value: never, what: string): never {
  throw new Error(`Unhandled ${what}: ${JSON.stringify(value)}`);
}
