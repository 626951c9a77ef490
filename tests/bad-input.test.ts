import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getNamedType, isLeafType, isObjectType, type GraphQLObjectType } from "graphql";
import { schema } from "../src/graphql/schema.js";
import { QUERY_LIMITS } from "../src/graphql/plugins/armor.js";
import type { RunningServer } from "../src/server/app.js";
import { tokenFor } from "./support/clients.js";
import { backendName, createTestLocation, type TestDatabaseLocation } from "./support/databases.js";
import { startTestServer } from "./support/server.js";

type GraphQLResponse = { data?: unknown; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };

const KEY_ID = Buffer.from("ApiKey:00000000-0000-4000-8000-000000000000").toString("base64");
const CREATE = "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }";
const SET_STATUS = "mutation($input: SetKeyStatusInput!) { setKeyStatus(input: $input) { apiKey { id } } }";
const UPDATE = "mutation($input: UpdateApiKeyInput!) { updateApiKey(input: $input) { apiKey { id } } }";
const EVENTS = "query($first: Int, $since: DateTime, $types: [EventType!]) { events(first: $first, since: $since, types: $types) { edges { cursor } } }";
const USAGE =
  "query($from: DateTime!, $to: DateTime!, $granularity: UsageGranularity!) { keyUsage(keyId: \"" +
  KEY_ID +
  "\", from: $from, to: $to, granularity: $granularity) { count } }";
const DAY = { from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z" };

/** [case, query, variables, the field the error names, the variable it names] */
const BAD_VARIABLES: Array<[string, string, Record<string, unknown>, string, string]> = [
  ["an enum value in the wrong case", CREATE, { input: { name: "k", service: "sms" } }, "service", "input"],
  ["an enum value that does not exist", "query($s: KeyStatus) { apiKeys(status: $s) { totalCount } }", { s: "DELETED" }, "status", "s"],
  ["an enum value given as a number", "query($s: Service) { apiKeys(service: $s) { totalCount } }", { s: 1 }, "service", "s"],
  ["null for String!", "mutation($name: String!) { createApiKey(input: { name: $name, service: SMS }) { secret } }", { name: null }, "name", "name"],
  ["null for a String! input field", CREATE, { input: { name: null, service: "SMS" } }, "name", "input"],
  ["a missing required variable", "mutation($name: String!) { createApiKey(input: { name: $name, service: SMS }) { secret } }", {}, "name", "name"],
  ["an unknown input field on create", CREATE, { input: { name: "k", service: "SMS", owner: "mallory" } }, "owner", "input"],
  ["an unknown input field on update", UPDATE, { input: { id: KEY_ID, status: "REVOKED" } }, "status", "input"],
  ["expectedVersion 2^31", SET_STATUS, { input: { id: KEY_ID, status: "ACTIVE", expectedVersion: 2 ** 31 } }, "expectedVersion", "input"],
  ["expectedVersion 1.5", SET_STATUS, { input: { id: KEY_ID, status: "ACTIVE", expectedVersion: 1.5 } }, "expectedVersion", "input"],
  ["expectedVersion \"1\"", UPDATE, { input: { id: KEY_ID, name: "n", expectedVersion: "1" } }, "expectedVersion", "input"],
  ["first 2^31", EVENTS, { first: 2 ** 31 }, "first", "first"],
  ["an event type that does not exist", EVENTS, { types: ["KeyEaten"] }, "types", "types"],
  ["DateTime \"yesterday\"", EVENTS, { since: "yesterday" }, "since", "since"],
  ["DateTime in the year 99999", USAGE, { ...DAY, from: "99999-01-01T00:00:00Z", granularity: "HOUR" }, "from", "from"],
  ["granularity SECOND", USAGE, { ...DAY, granularity: "SECOND" }, "granularity", "granularity"],
];

/** Every field of `type` that takes no required argument, objects expanded through fragments (the costliest way). */
function everyField(type: GraphQLObjectType, fragments: Map<string, string>, depth = 0): string {
  const selections: string[] = [];
  for (const field of Object.values(type.getFields())) {
    if (field.args.some((arg) => arg.type.toString().endsWith("!"))) continue;
    const named = getNamedType(field.type);
    if (isLeafType(named)) selections.push(field.name);
    else if (isObjectType(named) && depth < 4) {
      // A type that refers to itself (ApiKey.rotatedTo) cannot spread its own fragment: one level is enough.
      if (fragments.get(named.name) === "") continue;
      if (!fragments.has(named.name)) {
        fragments.set(named.name, "");
        fragments.set(named.name, `fragment All${named.name} on ${named.name} { ${everyField(named, fragments, depth + 1)} }`);
      }
      selections.push(`${field.name} { ...All${named.name} }`);
    }
  }
  return selections.join(" ");
}

describe(`bad input answers a typed error and appends nothing (${backendName}, NODE_ENV=production)`, () => {
  let location: TestDatabaseLocation;
  let server: RunningServer;
  let token: string;

  const post = async (query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse> => {
    const response = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as GraphQLResponse;
  };
  const eventRows = async () => (await server.services.db.query<{ n: number }>("SELECT count(*)::int AS n FROM events")).rows[0]!.n;

  beforeAll(async () => {
    location = await createTestLocation();
    server = await startTestServer(location, { NODE_ENV: "production" });
    token = await tokenFor("admin-1", ["admin"]);
    // One key, so a list query has something to return.
    expect((await post(CREATE, { input: { name: "existing", service: "SMS" } })).errors).toBeUndefined();
  });
  afterAll(async () => {
    await server.stop();
    await location.drop();
  });

  it.each(BAD_VARIABLES)("%s: BAD_USER_INPUT naming the field, no suggestion, nothing appended", async (_case, query, variables, field, variable) => {
    const before = await eventRows();
    const result = await post(query, variables);
    expect(result.data ?? null).toBeNull();
    expect(result.errors).toHaveLength(1);
    const [error] = result.errors!;
    expect(error!.extensions, error!.message).toMatchObject({ code: "BAD_USER_INPUT", field, variable });
    expect(error!.message).not.toMatch(/did you mean/i);
    expect(await eventRows()).toBe(before);
  });

  it("answers a document that does not parse with GRAPHQL_PARSE_FAILED", async () => {
    const result = await post("mutation { createApiKey(input: { name: \"k\", service: SMS }) { secret }");
    expect(result.errors?.[0]?.extensions?.code).toBe("GRAPHQL_PARSE_FAILED");
  });

  it("answers a document that does not validate with GRAPHQL_VALIDATION_FAILED, without suggestions", async () => {
    const before = await eventRows();
    for (const query of [
      "{ apiKeys { edges { node { nme } } } }",
      "{ apiKeys(service: sms) { totalCount } }",
      "mutation { createApiKey(input: { name: \"k\", service: SMS, owner: \"mallory\" }) { secret } }",
      "mutation { setKeyStatus(input: { id: \"x\", status: ACTIVE, expectedVersion: 2147483648 }) { apiKey { id } } }",
      "{ keyUsage(keyId: \"x\", from: \"2026-01-01T00:00:00Z\", to: \"2026-01-02T00:00:00Z\", granularity: SECOND) { count } }",
    ]) {
      const result = await post(query);
      expect(result.errors?.length, query).toBeGreaterThan(0);
      for (const error of result.errors!) {
        expect(error.extensions?.code, query).toBe("GRAPHQL_VALIDATION_FAILED");
        expect(error.message).not.toMatch(/did you mean|suggestion/i);
      }
    }
    expect(await eventRows()).toBe(before);
  });

  it("admits the schema's largest pages with every field, through fragments, under the cost limit", async () => {
    const fragments = new Map<string, string>();
    const query = schema.getQueryType()!;
    const page = (name: string, first: number) => {
      const connection = getNamedType(query.getFields()[name]!.type) as GraphQLObjectType;
      return `${name}(first: ${first}) { ${everyField(connection, fragments)} }`;
    };
    const document = `{ ${page("events", 1000)} ${page("apiKeys", 100)} health { ok database headPosition } verifyLog { ok eventsChecked } }\n${[...fragments.values()].join("\n")}`;
    expect(document).toContain("...AllEvent");
    const result = await post(document);
    expect(result.errors).toBeUndefined();
    expect(result.data).toMatchObject({ apiKeys: { totalCount: 1 } });
  });

  it("refuses queries over a limit with GRAPHQL_VALIDATION_FAILED and the limit's name", async () => {
    const fullPage = "events(first: 1000) { edges { cursor node { eventId position type streamId data actor { id role } } } }";
    const cases: Array<[string, string]> = [
      ["cost", `{ ${Array.from({ length: 10 }, (_, i) => `p${i}: ${fullPage}`).join(" ")} }`],
      ["aliases", `{ ${Array.from({ length: QUERY_LIMITS.maxAliases + 1 }, (_, i) => `h${i}: health { ok }`).join(" ")} }`],
      // No field path of the schema is that deep (fragments count as the fields they hold): introspection is.
      ["depth", `{ __type(name: "Query") { fields { type ${"{ ofType ".repeat(QUERY_LIMITS.maxDepth)}{ name }${" }".repeat(QUERY_LIMITS.maxDepth)} } } }`],
      ["directives", `{ health { ok ${"@include(if: true) ".repeat(QUERY_LIMITS.maxDirectives + 1)} } }`],
      ["tokens", `{ ${"health { ok } ".repeat(QUERY_LIMITS.maxTokens / 4 + 1)} }`],
    ];
    for (const [limit, query] of cases) {
      const result = await post(query);
      expect(result.data ?? null, limit).toBeNull();
      expect(result.errors?.map((error) => error.extensions), limit).toContainEqual({ code: "GRAPHQL_VALIDATION_FAILED", limit });
      for (const error of result.errors!) expect(error.extensions?.code, error.message).toBe("GRAPHQL_VALIDATION_FAILED");
    }
  });
});
