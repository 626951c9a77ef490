import type { CodegenConfig } from "@graphql-codegen/cli";

const scalars = { DateTime: "string", SafeInt: "number", JSONObject: "Record<string, unknown>" };

// Typed documents for the operations the end-to-end tests send (tests/operations/*.graphql)
// and for the console's (src/console/**/*.graphql, as plain strings: no GraphQL runtime in the bundle).
const config: CodegenConfig = {
  schema: "schema.graphql",
  ignoreNoDocuments: true,
  emitLegacyCommonJSImports: false,
  generates: {
    "tests/generated/": {
      documents: ["tests/operations/**/*.graphql"],
      preset: "client",
      config: { useTypeImports: true, enumsAsTypes: true, scalars },
      presetConfig: { fragmentMasking: false },
    },
    "src/console/generated/": {
      documents: ["src/console/**/*.graphql"],
      preset: "client",
      config: { useTypeImports: true, enumsAsTypes: true, scalars, documentMode: "string" },
      presetConfig: { fragmentMasking: false },
    },
  },
};

export default config;
