import { GraphQLError, Kind, visit, type DocumentNode, type ExecutionResult } from "graphql";
import { handleStreamOrSingleExecutionResult, type Plugin } from "graphql-yoga";

const SUGGESTIONS = /\s*Did you mean [^?]*\?/g;

/** graphql-js appends "Did you mean …?" to unknown names: it maps the schema for whoever probes it. */
export const withoutSuggestions = (message: string) => message.replace(SUGGESTIONS, "");

function withMessageAndCode(error: GraphQLError, message: string, extensions: Record<string, unknown>): GraphQLError {
  return new GraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, ...extensions },
  });
}

/** The argument or input field a variable is passed to (`first` for `events(first: $n)`). */
function usageOf(document: DocumentNode | undefined, variable: string): string | undefined {
  let name: string | undefined;
  if (!document) return undefined;
  visit(document, {
    enter(node) {
      if (name) return false;
      if ((node.kind === Kind.ARGUMENT || node.kind === Kind.OBJECT_FIELD) && node.value.kind === Kind.VARIABLE && node.value.name.value === variable) {
        name = node.name.value;
      }
      return undefined;
    },
  });
  return name;
}

/**
 * A variable that does not coerce to its type, as graphql-js words it:
 * `Variable "$i" got invalid value 1.5 at "i.expectedVersion"; Int cannot represent …`,
 * `Variable "$n" of non-null type "String!" must not be null.`,
 * `Variable "$i" got invalid value {…}; Field "bogus" is not defined by type "CreateApiKeyInput".`
 */
function badVariable(error: GraphQLError, document: DocumentNode | undefined): GraphQLError {
  const message = withoutSuggestions(error.message);
  const variable = /^Variable "\$(\w+)"/.exec(message)?.[1];
  const path = (/ at "([^"]+)"/.exec(message)?.[1] ?? "").split(/[.[\]]/).filter((part) => part !== "" && !/^\d+$/.test(part));
  const field =
    /Field "(\w+)" is not defined by type/.exec(message)?.[1] ??
    (path.length > 1 ? path.at(-1) : undefined) ??
    (variable ? (usageOf(document, variable) ?? variable) : undefined);
  // No originalError: the masker would otherwise report the inner coercion error, without the code.
  return new GraphQLError(message, {
    nodes: error.nodes,
    extensions: { ...error.extensions, code: "BAD_USER_INPUT", ...(field && { field }), ...(variable && { variable }) },
  });
}

function codeResult(result: ExecutionResult, document: DocumentNode | undefined): ExecutionResult {
  if (!result.errors?.length) return result;
  const errors = result.errors.map((error) => {
    // Errors without a path come before execution: the request's variables did not coerce. (For subscriptions the
    // executor already says BAD_USER_INPUT, without the variable or field.)
    const code = error.extensions?.code;
    if (error.path === undefined && (code === undefined || code === "BAD_USER_INPUT")) return badVariable(error, document);
    const message = withoutSuggestions(error.message);
    return message === error.message ? error : withMessageAndCode(error, message, {});
  });
  return { ...result, errors };
}

/**
 * Every error a request can cause before its resolvers run carries `extensions.code`:
 * GRAPHQL_PARSE_FAILED (Yoga, and graphql-ws in websocket.ts), GRAPHQL_VALIDATION_FAILED for documents that do not
 * validate against the schema (and for query limits, see armor.ts), BAD_USER_INPUT with `variable` and `field` for
 * variables that do not coerce. No message suggests names ("Did you mean …").
 */
export function useCodedErrors(): Plugin {
  return {
    onValidate() {
      return ({ valid, result, setResult }) => {
        if (valid) return;
        setResult(
          result.map((error) =>
            withMessageAndCode(error, withoutSuggestions(error.message), { code: error.extensions?.code ?? "GRAPHQL_VALIDATION_FAILED" }),
          ),
        );
      };
    },
    onExecute({ args }) {
      return {
        onExecuteDone: (payload) =>
          handleStreamOrSingleExecutionResult(payload, ({ result, setResult }) => setResult(codeResult(result, args.document))),
      };
    },
    onSubscribe({ args }) {
      return {
        onSubscribeResult: (payload) =>
          handleStreamOrSingleExecutionResult(payload, ({ result, setResult }) => setResult(codeResult(result, args.document))),
      };
    },
  };
}
