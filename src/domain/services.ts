export const SERVICES = ["EMAIL", "SMS", "KALP_BOT", "STUDIO"] as const;
export type Service = (typeof SERVICES)[number];

/** The service's part of a key's visible prefix: `klp_<slug>_…`. */
export const SERVICE_SLUGS: Record<Service, string> = {
  EMAIL: "email",
  SMS: "sms",
  KALP_BOT: "bot",
  STUDIO: "studio",
};

export const KEY_STATUSES = ["ACTIVE", "INACTIVE", "REVOKED"] as const;
export type KeyStatus = (typeof KEY_STATUSES)[number];
