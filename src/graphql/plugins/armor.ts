import { EnvelopArmorPlugin } from "@escape.tech/graphql-armor";
import { GraphQLError, type ValidationContext } from "graphql";

/**
 * Query limits. The cost limit multiplies a list's cost by its literal `first`/`last`; the largest page the schema
 * allows with every field selected through fragments, `events(first: 1000)` (about 112,000) beside
 * `apiKeys(first: 100)` (about 10,000), stays well below it, while fifteen aliased full pages do not.
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
    costLimit: { maxCost: QUERY_LIMITS.maxCost, ...rejectWith("cost") },
    maxDepth: { n: QUERY_LIMITS.maxDepth, ...rejectWith("depth") },
    maxAliases: { n: QUERY_LIMITS.maxAliases, ...rejectWith("aliases") },
    maxDirectives: { n: QUERY_LIMITS.maxDirectives, ...rejectWith("directives") },
    maxTokens: { n: QUERY_LIMITS.maxTokens, ...rejectWith("tokens") },
  });
}
