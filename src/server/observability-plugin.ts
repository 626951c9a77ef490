import { GraphQLError, Kind, type DocumentNode, type ExecutionResult, type OperationDefinitionNode } from "graphql";
import type { Plugin } from "graphql-yoga";
import { translateError } from "../graphql/errors.js";
import { recordRequest, requests } from "../observability/metrics.js";
import { withSpan } from "../observability/tracing.js";

/**
 * The operation as a bounded label: its type and root fields ("mutation verifyApiKey"). Client-chosen
 * operation names would let any caller create label values without end.
 */
function describe(document: DocumentNode, operationName: string | null | undefined): { type: string; label: string; name?: string } {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operations.find((o) => !operationName || o.name?.value === operationName) ?? operations[0];
  if (!operation) return { type: "unknown", label: "unknown" };
  const fields = new Set<string>();
  for (const selection of operation.selectionSet.selections) fields.add(selection.kind === Kind.FIELD ? selection.name.value : "…");
  return { type: operation.operation, label: `${operation.operation} ${[...fields].sort().join(",")}`, name: operation.name?.value };
}

/** The code a client sees for the first error (errors are masked later, by Yoga). */
function outcomeOf(result: ExecutionResult): string {
  const error = result.errors?.[0];
  if (!error) return "ok";
  const code = error.extensions?.code ?? translateError(error instanceof GraphQLError ? (error.originalError ?? error) : error)?.extensions.code;
  return typeof code === "string" ? code : "INTERNAL_SERVER_ERROR";
}

const isResult = (value: unknown): value is ExecutionResult => typeof value === "object" && value !== null && !(Symbol.asyncIterator in value);

/** Requests by operation and outcome with latency (metrics), and a span per GraphQL operation (tracing). */
export function useObservability(): Plugin {
  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn(async (args) => {
        const started = performance.now();
        const operation = describe(args.document, args.operationName);
        const attributes = { "graphql.operation.type": operation.type, "graphql.operation.name": operation.name, "graphql.operation.fields": operation.label };
        return withSpan(`graphql ${operation.label}`, attributes, async (span) => {
          const result = await executeFn(args);
          if (isResult(result)) {
            const outcome = outcomeOf(result);
            recordRequest(operation.label, outcome, (performance.now() - started) / 1000);
            if (outcome !== "ok") span.fail(undefined, outcome);
          }
          return result;
        });
      });
    },
    onSubscribe({ args }) {
      // A subscription is counted when it starts; its lifetime is in keyledger_subscriptions_open.
      requests.inc({ operation: describe(args.document, args.operationName).label, outcome: "subscribed" });
    },
  };
}
