import { z } from "zod";

const port = z.coerce
  .number({ error: "must be a number" })
  .int("must be a whole number")
  .min(0, "must be between 0 and 65535")
  .max(65535, "must be between 0 and 65535");

/** A whole number within bounds, for counts and milliseconds ("10s" is refused with this message, not "NaN"). */
const wholeNumber = (min: number, max: number, unit = "") =>
  z.coerce
    .number({ error: `must be a whole number${unit}` })
    .int(`must be a whole number${unit}`)
    .min(min, `must be between ${min} and ${max}${unit}`)
    .max(max, `must be between ${min} and ${max}${unit}`);

/** Where PGlite keeps its data when DATA_DIR is not set. */
export const DEFAULT_DATA_DIR = "./.keyledger";

const boolean = z
  .enum(["true", "false", "1", "0", "yes", "no", "on", "off"], { error: "must be true or false" })
  .transform((value) => ["true", "1", "yes", "on"].includes(value));

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === "" ? undefined : value.trim()));

/** A duration such as 90s, 15m, 12h or 7d (plain digits are seconds), in seconds. */
const duration = z
  .string()
  .trim()
  .regex(/^\d+\s*[smhd]?$/i, "must be a duration such as 90s, 15m, 12h or 7d")
  .transform((value) => Number.parseInt(value, 10) * ({ s: 1, m: 60, h: 3600, d: 86_400 }[value.slice(-1).toLowerCase()] ?? 1))
  .pipe(z.number().int().min(1, "must be at least 1s"));

/** Comma-separated browser origins (scheme://host[:port]) allowed to call the API cross-origin. */
const origins = z
  .string()
  .optional()
  .transform((value) => (value ?? "").split(",").map((origin) => origin.trim()).filter(Boolean))
  .pipe(z.array(z.string().regex(/^https?:\/\/[^/?#\s]+$/i, "must list origins such as https://console.example.com, separated by commas")));

const environmentSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  HOST: z.string().min(1).default("0.0.0.0"),
  PORT: port.default(4000),
  DATABASE_URL: optionalText.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL")
      .optional(),
  ),
  DATA_DIR: z.string().min(1).default(DEFAULT_DATA_DIR),
  DB_POOL_SIZE: wholeNumber(1, 1000).default(10),
  DB_PREPARED_STATEMENTS: boolean.optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  JWT_SECRET: optionalText.pipe(z.string().min(32, "must be at least 32 characters").optional()),
  JWKS_URL: optionalText.pipe(z.url({ error: "must be a URL" }).optional()),
  JWT_ISSUER: optionalText,
  JWT_AUDIENCE: optionalText,
  JWT_MAX_LIFETIME: optionalText.pipe(duration.optional()),
  JWT_REQUIRE_EXP: boolean.optional(),
  CORS_ORIGINS: origins,
  GRAPHIQL: boolean.optional(),
  INTROSPECTION: boolean.optional(),
  SHUTDOWN_TIMEOUT_MS: wholeNumber(0, 3_600_000, " of milliseconds").default(10_000),
  SUBSCRIPTION_BUFFER: wholeNumber(1, 1_000_000).default(1_000),
  CHECKPOINT_INTERVAL_MS: wholeNumber(10, 2_147_483_647, " of milliseconds").default(60_000),
  CHECKPOINT_SIGNING_JWK: optionalText,
  METRICS_TOKEN: optionalText.pipe(z.string().min(16, "must be at least 16 characters").optional()),
  METRICS_PORT: z.preprocess((value) => (typeof value === "string" && value.trim() === "" ? undefined : value), port.optional()),
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalText.pipe(z.url({ error: "must be a URL" }).optional()),
});

export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600;

export type Config = {
  nodeEnv: "development" | "production" | "test";
  host: string;
  port: number;
  databaseUrl: string | undefined;
  dataDir: string;
  dbPoolSize: number;
  /** Statements prepared by name on each PostgreSQL connection (off: all unnamed, an escape hatch). */
  dbPreparedStatements: boolean;
  logLevel: string;
  jwt: {
    secret?: string;
    jwksUrl?: string;
    issuer?: string;
    audience?: string;
    /** Tokens must not live longer than this (exp − iat, and exp − now). */
    maxLifetimeSeconds: number;
    /** Tokens without `exp` are refused. */
    requireExp: boolean;
  };
  /** Origins whose browser pages may call the API; empty: no cross-origin access. */
  corsOrigins: string[];
  graphiql: boolean;
  introspection: boolean;
  shutdownTimeoutMs: number;
  subscriptionBuffer: number;
  checkpointIntervalMs: number;
  /** A private P-256 JWK (JSON) that signs checkpoints; unset: a key per process, published in JWKS. */
  checkpointSigningJwk: string | undefined;
  /** Reads /metrics besides an admin token; on METRICS_PORT, required when set. */
  metricsToken: string | undefined;
  /** A second port serving only /metrics, for scrapers on a private network. */
  metricsPort: number | undefined;
  /** OTLP/HTTP collector base URL: traces are exported to `${it}/v1/traces` when set. */
  otlpEndpoint: string | undefined;
};

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads and validates the environment; throws a ConfigError that names every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? "environment");
      return `  ${name}=${JSON.stringify(env[name] ?? "")}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n${problems.join("\n")}`);
  }
  const e = parsed.data;
  if (e.JWT_SECRET && e.JWKS_URL) {
    throw new ConfigError("Invalid configuration:\n  set either JWT_SECRET or JWKS_URL, not both");
  }
  const production = e.NODE_ENV === "production";
  return {
    nodeEnv: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    dbPoolSize: e.DB_POOL_SIZE,
    dbPreparedStatements: e.DB_PREPARED_STATEMENTS ?? true,
    logLevel: e.LOG_LEVEL,
    jwt: {
      secret: e.JWT_SECRET,
      jwksUrl: e.JWKS_URL,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      maxLifetimeSeconds: e.JWT_MAX_LIFETIME ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
      requireExp: e.JWT_REQUIRE_EXP ?? true,
    },
    corsOrigins: e.CORS_ORIGINS.map((origin) => origin.toLowerCase()),
    graphiql: e.GRAPHIQL ?? !production,
    introspection: e.INTROSPECTION ?? !production,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    subscriptionBuffer: e.SUBSCRIPTION_BUFFER,
    checkpointIntervalMs: e.CHECKPOINT_INTERVAL_MS,
    checkpointSigningJwk: e.CHECKPOINT_SIGNING_JWK,
    metricsToken: e.METRICS_TOKEN,
    metricsPort: e.METRICS_PORT,
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
  };
}
