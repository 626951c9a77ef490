import type { Service } from "./generated/graphql";

export interface ServiceInfo {
  id: Service;
  slug: string;
  label: string;
}

/** The platform's services as the console names them; the URL carries the slug. */
export const SERVICES: readonly ServiceInfo[] = [
  { id: "EMAIL", slug: "email", label: "Email" },
  { id: "SMS", slug: "sms", label: "SMS" },
  { id: "KALP_BOT", slug: "kalp-bot", label: "Kalp Bot" },
  { id: "STUDIO", slug: "studio", label: "Studio" },
];

export const serviceBySlug = (slug: string | undefined) => SERVICES.find((s) => s.slug === slug);
export const serviceById = (id: Service) => SERVICES.find((s) => s.id === id) ?? SERVICES[0]!;
