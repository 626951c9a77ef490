import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { RunningServer } from "../src/server/app.js";
import { CreateKeyDocument } from "./generated/graphql.js";
import { clientFor } from "./support/clients.js";
import { backendName, createTestLocation, type TestDatabaseLocation } from "./support/databases.js";
import { startTestServer } from "./support/server.js";

interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  service: unknown;
}

/** A minimal OTLP/HTTP receiver: collects the spans of every JSON export POSTed to /v1/traces. */
function startReceiver(): Promise<{ server: Server; endpoint: string; spans: ReceivedSpan[]; contentTypes: string[] }> {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      contentTypes.push(String(req.headers["content-type"]));
      if (req.url === "/v1/traces") {
        type Value = { stringValue?: string; intValue?: string | number; boolValue?: boolean };
        const attributes = (list: Array<{ key: string; value: Value }> = []) =>
          Object.fromEntries(list.map(({ key, value }) => [key, value.stringValue ?? value.intValue ?? value.boolValue]));
        const exported = JSON.parse(body) as {
          resourceSpans: Array<{ resource: { attributes: never }; scopeSpans: Array<{ spans: Array<Omit<ReceivedSpan, "attributes" | "service"> & { attributes: never }> }> }>;
        };
        for (const resourceSpans of exported.resourceSpans) {
          const service = attributes(resourceSpans.resource.attributes)["service.name"];
          for (const scope of resourceSpans.scopeSpans) {
            for (const span of scope.spans) spans.push({ ...span, attributes: attributes(span.attributes), service });
          }
        }
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ server, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, contentTypes })),
  );
}

describe(`OpenTelemetry traces over OTLP/HTTP (${backendName})`, () => {
  let location: TestDatabaseLocation;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let server: RunningServer | undefined;

  beforeAll(async () => {
    location = await createTestLocation();
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await server?.stop();
    receiver?.server.close();
    await location?.drop();
  });

  it("exports an HTTP server span, a GraphQL operation span inside it and database spans inside that", async () => {
    server = await startTestServer(location, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint });
    const owner = await clientFor(server.url, "alice");
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    owner.setHeader("traceparent", `00-${traceId}-00f067aa0ba902b7-01`);
    await owner.request(CreateKeyDocument, { input: { service: "SMS", name: "traced" } });
    await server.stop(); // flushes the batch of spans
    server = undefined;

    expect(receiver.contentTypes).toContain("application/json");
    const trace = receiver.spans.filter((span) => span.traceId === traceId);
    const http = trace.find((span) => span.name === "POST /graphql");
    expect(http, JSON.stringify(receiver.spans.map((s) => s.name))).toBeDefined();
    // The caller's traceparent is honoured: the server span continues the caller's trace.
    expect(http!.parentSpanId).toBe("00f067aa0ba902b7");
    expect(http!.attributes["http.response.status_code"]).toBe(200);
    expect(http!.service).toBe("keyledger");

    const operation = trace.find((span) => span.name === "graphql mutation createApiKey");
    expect(operation).toBeDefined();
    expect(operation!.parentSpanId).toBe(http!.spanId);
    expect(operation!.attributes["graphql.operation.type"]).toBe("mutation");

    const database = trace.filter((span) => span.parentSpanId === operation!.spanId && span.name.startsWith("db "));
    expect(database.map((span) => span.name)).toContain("db INSERT");
    expect(database.every((span) => typeof span.attributes["db.query.text"] === "string")).toBe(true);
  });
});
