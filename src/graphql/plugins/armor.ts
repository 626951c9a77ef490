import { EnvelopArmorPlugin } from "@escape.tech/graphql-armor";
import { GraphQLError, type ValidationContext } from "graphql";

/**
 * Query limits. The cost limit multiplies a list's cost by its literal `first`/`last`: the schema's largest page with
 * every field, `events(first: 1000)` (cost 74,375), beside `apiKeys(first: 100)` with every field (about 7,000) and the
 * other root fields, stays well below it; four full pages of events in one request do not.
 */
export const QUERY_LIMITS = { maxCost: 250_000, maxDepth: 8, maxAliases: 15, maxDirectives: 50, maxTokens: 1_000 } as const;

/** graphql-armor words its rejections as "Syntax Error: …" with no code: give them one, and say which limit. */
function rejectWith(limit: string) {
  return {
    propagateOnRejection: false,
    onReject: [
      (context: ValidationContext | null, error: GraphQLError) => {
        const coded = new GraphQLError(error.message.replace(/^Syntax Error: /, ""), {
          extensions: { code: "GRAPHQL_VALIDATION_FAILED", limit },
        });
        // The token limit is checked while parsing, without a validation context: throwing fails the parse.
        if (!context) throw coded;
        context.reportError(coded);
      },
    ],
  };
}

export function useQueryLimits() {
  return EnvelopArmorPlugin({
    // Suggestions are removed from every message by useCodedErrors.
    blockFieldSuggestion: { enabled: false },
    // Fragments count as the fields they hold: a client that names every selection (Relay, codegen) pays no more.
    costLimit: { maxCost: QUERY_LIMITS.maxCost, flattenFragments: true, ...rejectWith("cost") },
    maxDepth: { n: QUERY_LIMITS.maxDepth, flattenFragments: true, ...rejectWith("depth") },
    maxAliases: { n: QUERY_LIMITS.maxAliases, ...rejectWith("aliases") },
    maxDirectives: { n: QUERY_LIMITS.maxDirectives, ...rejectWith("directives") },
    maxTokens: { n: QUERY_LIMITS.maxTokens, ...rejectWith("tokens") },
  });
}
