import { KEY_CHANGE_KINDS } from "../../domain/key-changes.js";
import { builder } from "../builder.js";

export const KeyChangeEnum = builder.enumType("KeyChange", { values: KEY_CHANGE_KINDS });
