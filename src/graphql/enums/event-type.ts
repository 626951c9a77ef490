import { EVENT_TYPES } from "../../domain/events.js";
import { builder } from "../builder.js";

export const EventTypeEnum = builder.enumType("EventType", { values: EVENT_TYPES });
