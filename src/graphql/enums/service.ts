import { SERVICES } from "../../domain/services.js";
import { builder } from "../builder.js";

export const ServiceEnum = builder.enumType("Service", {
  description: "The platform's services; each key belongs to one.",
  values: SERVICES,
});
