import pino, { type Logger } from "pino";

export type { Logger };

/** JSON logs; credentials are redacted wherever they might appear. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: "keyledger" },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ["authorization", "headers.authorization", "req.headers.authorization", "*.secret", "secret", "token", "key"],
      censor: "[redacted]",
    },
  });
}
