import type { IncomingHttpHeaders } from "node:http";

// The OpenTelemetry packages are imported only when tracing is configured: a server without
// OTEL_EXPORTER_OTLP_ENDPOINT loads none of them, and every helper below is a plain call.
type OtelApi = typeof import("@opentelemetry/api");
type Attributes = Record<string, string | number | boolean | undefined>;

/** The part of a span the callers use, so they need no OpenTelemetry types. */
export interface SpanHandle {
  setAttributes(attributes: Attributes): void;
  /** Marks the span failed; `error` is recorded as an exception event. */
  fail(error?: unknown, message?: string): void;
}

let otel: OtelApi | undefined;

export const tracingEnabled = () => otel !== undefined;

/**
 * A CommonJS package's exports. Imported from the sources they arrive as named exports; from the
 * server bundle (esbuild), some arrive only as `default` ("OTLPTraceExporter is not a constructor").
 */
function namedExports<T extends object>(module: T): T {
  const fallback = (module as { default?: unknown }).default;
  return fallback && typeof fallback === "object" ? ({ ...fallback, ...module } as T) : module;
}

/**
 * Exports spans over OTLP/HTTP (JSON) to `${endpoint}/v1/traces` and makes the helpers below record
 * them. Resolves with a function that flushes what is buffered and turns tracing off again.
 */
export async function startTracing(endpoint: string, serviceName = "keyledger"): Promise<() => Promise<void>> {
  const [api, { NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] = await Promise.all([
    import("@opentelemetry/api").then(namedExports),
    import("@opentelemetry/sdk-trace-node").then(namedExports),
    import("@opentelemetry/exporter-trace-otlp-http").then(namedExports),
    import("@opentelemetry/resources").then(namedExports),
  ]);
  const exporter = new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, "")}/v1/traces` });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": process.env.OTEL_SERVICE_NAME ?? serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  // Registers the W3C trace-context propagator and an AsyncLocalStorage context manager, so spans
  // started while another is active (a database query inside a GraphQL operation) become its children.
  provider.register();
  otel = api;
  return async () => {
    otel = undefined;
    await provider.shutdown();
    api.trace.disable();
    api.context.disable();
    api.propagation.disable();
  };
}

function handleOf(span: import("@opentelemetry/api").Span, api: OtelApi): SpanHandle {
  return {
    setAttributes: (attributes) => span.setAttributes(withoutUndefined(attributes)),
    fail(error, message) {
      if (error instanceof Error) span.recordException(error);
      span.setStatus({ code: api.SpanStatusCode.ERROR, message: message ?? (error instanceof Error ? error.message : undefined) });
    },
  };
}

function withoutUndefined(attributes: Attributes): Record<string, string | number | boolean> {
  return Object.fromEntries(Object.entries(attributes).filter(([, value]) => value !== undefined)) as Record<string, string | number | boolean>;
}

const NO_SPAN: SpanHandle = { setAttributes: () => {}, fail: () => {} };

/** Runs `work` in a span (a child of the active one); a thrown error marks the span failed. */
export async function withSpan<T>(
  name: string,
  attributes: Attributes,
  work: (span: SpanHandle) => Promise<T>,
  options: { kind?: "server" | "client" | "internal"; headers?: IncomingHttpHeaders } = {},
): Promise<T> {
  const api = otel;
  if (!api) return work(NO_SPAN);
  const kinds = { server: api.SpanKind.SERVER, client: api.SpanKind.CLIENT, internal: api.SpanKind.INTERNAL };
  const parent = options.headers ? api.propagation.extract(api.context.active(), options.headers) : api.context.active();
  return api.trace
    .getTracer("keyledger")
    .startActiveSpan(name, { kind: kinds[options.kind ?? "internal"], attributes: withoutUndefined(attributes) }, parent, async (span) => {
      const handle = handleOf(span, api);
      try {
        return await work(handle);
      } catch (error) {
        handle.fail(error);
        throw error;
      } finally {
        span.end();
      }
    });
}

/** A database statement's span: named by its verb, with the parameterised text (never the values). */
export function withQuerySpan<T>(system: "postgresql" | "pglite", text: string, work: () => Promise<T>): Promise<T> {
  if (!otel) return work();
  const verb = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? "QUERY";
  return withSpan(`db ${verb}`, { "db.system.name": system === "pglite" ? "postgresql" : system, "db.query.text": text.slice(0, 2_000), "db.client": system }, () => work(), {
    kind: "client",
  });
}
