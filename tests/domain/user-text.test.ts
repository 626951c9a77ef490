import { describe, it } from "vitest";
import { apiKeyDecider, type ApiKeyCommand } from "../../src/domain/api-key.js";
import { invalid } from "../../src/domain/errors.js";
import { DeciderSpecification } from "./decider-specification.js";
import { createCommand, keyCreated, keyRevoked, keyUpdated } from "./fixtures.js";

const given = DeciderSpecification.for(apiKeyDecider);

const LONE_SURROGATES = { "a lone high surrogate": "gw-\ud800", "a lone low surrogate": "\udc00x", "a reversed pair": "\ude00\ud83d" };
const BIDI_CONTROLS = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c"];
const hex = (text: string) => [...text].map((c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`).join(" ");

/** Every field of user text, with a command that sets it to `text` on a live key (or creates one with it). */
const FIELDS: Array<[field: string, command: (text: string) => ApiKeyCommand]> = [
  ["name", (name) => createCommand({ name })],
  ["name", (name) => ({ kind: "update", name })],
  ["description", (description) => createCommand({ description })],
  ["description", (description) => ({ kind: "update", description })],
  ["reason", (reason) => ({ kind: "revoke", reason })],
];
const historyFor = (command: ApiKeyCommand) => (command.kind === "create" ? [] : [keyCreated()]);

describe.each(FIELDS)("user text in %s", (field, command) => {
  it.each(Object.entries(LONE_SURROGATES))("refuses %s", (_, text) => {
    given(historyFor(command(text))).when(command(text)).thenFails(invalid(field, `${field} must be valid Unicode: it contains a lone surrogate`));
  });

  it.each(BIDI_CONTROLS.map((c) => [hex(c), c]))("refuses the bidi control %s", (_, control) => {
    const text = `abc${control}def`;
    given(historyFor(command(text))).when(command(text)).thenFails(invalid(field, `${field} must not contain bidirectional control characters`));
  });
});

describe("user text that is accepted", () => {
  it("keeps well-formed pairs, emoji joined with zero-width joiners, and right-to-left script", () => {
    for (const name of ["😀 rocket", "family 👨‍👩‍👧", "مفتاح", "ключ", "Ελληνικά", "कुंजी", "a\u200bb"]) {
      given([]).when(createCommand({ name })).then(keyCreated({ name }));
    }
  });

  it("accepts a description or reason of invisible characters: only names must show something", () => {
    given([]).when(createCommand({ description: "\u200b" })).then(keyCreated({ description: "\u200b" }));
    given(keyCreated()).when({ kind: "revoke", reason: "\u2060" }).then(keyRevoked("ACTIVE", "\u2060"));
  });
});

describe("a name with no visible character", () => {
  const invisible = ["\u200b", "\u200c", "\u200d", "\u2060", "\u200b\u200c\u200d\u2060", " \u200b ", "\u3164", "\u115f\u1160", "\ufe0f", "\u00ad", "\u034f"];

  it.each(invisible.map((name) => [hex(name), name]))("refuses %s on create and update", (_, name) => {
    const mustShow = invalid("name", "name must contain a visible character");
    given([]).when(createCommand({ name })).thenFails(mustShow);
    given(keyCreated()).when({ kind: "update", name }).thenFails(mustShow);
  });

  it("refuses a byte-order mark alone as empty: trimming removes it", () => {
    given([]).when(createCommand({ name: "\ufeff" })).thenFails(invalid("name", "name must not be empty"));
    given([]).when(createCommand({ name: "\ufeff\u200b" })).thenFails(invalid("name", "name must contain a visible character"));
  });

  it("refuses the whole update, description included, when the new name shows nothing", () => {
    given([keyCreated(), keyUpdated({ name: { from: "checkout", to: "x" } })])
      .when({ kind: "update", name: "\u200b", description: "fine" })
      .thenFails(invalid("name", "name must contain a visible character"));
  });
});
