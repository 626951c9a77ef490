import { KEY_STATUSES } from "../../domain/services.js";
import { builder } from "../builder.js";

export const KeyStatusEnum = builder.enumType("KeyStatus", {
  description: "ACTIVE keys verify; INACTIVE ones are switched off and can be switched on again; REVOKED is final.",
  values: KEY_STATUSES,
});
