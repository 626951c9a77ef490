import type { CodegenConfig } from "@graphql-codegen/cli";

// Typed documents for the operations the end-to-end tests send (tests/operations/*.graphql).
const config: CodegenConfig = {
  schema: "schema.graphql",
  documents: ["tests/operations/**/*.graphql"],
  ignoreNoDocuments: true,
  emitLegacyCommonJSImports: false,
  generates: {
    "tests/generated/": {
      preset: "client",
      config: { useTypeImports: true, enumsAsTypes: true, scalars: { DateTime: "string", SafeInt: "number", JSONObject: "Record<string, unknown>" } },
      presetConfig: { fragmentMasking: false },
    },
  },
};

export default config;
