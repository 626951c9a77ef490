import { expect } from "vitest";

/** A decider whose refusals are values (`{ error }`), not exceptions. */
export interface Decider<Command, Event, State, Failure> {
  decide(command: Command, state: State): { events: Event[] } | { error: Failure };
  evolve(state: State, event: Event): State;
  initialState(): State;
}

/**
 * Given/when/then for a decider, in the style of Emmett's DeciderSpecification:
 * `given(events).when(command).then(events)`, `.thenFails(error)`, `.thenNothingHappened()`.
 * Emmett's own expects `decide` to throw its refusals; ours returns them, so this is its shape
 * over vitest's `expect` (and its diffs).
 */
export const DeciderSpecification = {
  for<Command, Event, State, Failure>(decider: Decider<Command, Event, State, Failure>) {
    return (given: Event | Event[] = []) => ({
      when(command: Command) {
        const history = Array.isArray(given) ? given : [given];
        const decide = () => decider.decide(command, history.reduce(decider.evolve, decider.initialState()));
        return {
          then(expected: Event | Event[]) {
            const events = Array.isArray(expected) ? expected : [expected];
            expect(events, "then() needs events; use thenNothingHappened()").not.toHaveLength(0);
            expect(decide()).toEqual({ events });
          },
          thenNothingHappened() {
            expect(decide()).toEqual({ events: [] });
          },
          thenFails(error: Failure) {
            expect(decide()).toEqual({ error });
          },
        };
      },
    });
  },
};
