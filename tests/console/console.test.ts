import { readFileSync } from "node:fs";
import { GraphQLClient } from "graphql-request";
import type { Locator, Page, WebSocketRoute } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateKeyDocument, EventsDocument, ListKeysDocument, UpdateKeyDocument, VerifyDocument } from "../generated/graphql.js";
import { graphQLErrorOf } from "../support/clients.js";
import { createTestLocation, onPostgres, type TestDatabaseLocation } from "../support/databases.js";
import { startTestServer } from "../support/server.js";
import { assertConsoleBuilt, devToken, launchBrowser, screenshot } from "./browser.js";

// The console in Debian's Chromium against a real server on the embedded default (its generated
// development secret is what enables the development sign-in), every step of issue #12 in order.
// PGlite only: the development secret exists only there, and the pages are the same on PostgreSQL.
describe.skipIf(onPostgres)("the console in Chromium", () => {
  let location: TestDatabaseLocation;
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;
  let base: string;
  let alice: GraphQLClient;
  let gateway: GraphQLClient;
  let secret = "";
  // The page forgets the first key's secret; the test keeps the copy it read from the dialog.
  let productionSecret = "";
  // The page's graphql-ws sockets pass through here, so a test can drop them and hold them down.
  const sockets = new Set<WebSocketRoute>();
  let socketsBlocked = false;

  const rowOf = (name: string): Locator => page.locator("tbody tr").filter({ has: page.locator(".key-name", { hasText: new RegExp(`^${name.replace(/[()]/g, "\\$&")}$`) }) });
  const verify = async (key: string, service: "EMAIL" | "SMS" = "EMAIL") => (await gateway.request(VerifyDocument, { input: { key, service } })).verifyApiKey.code;
  const clipboard = () => page.evaluate(() => navigator.clipboard.readText());
  const liveBadge = () => page.locator(".live-live").waitFor();
  const toast = (title: string) => page.locator(".toast").filter({ hasText: title });
  const storedText = () => page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));

  beforeAll(async () => {
    assertConsoleBuilt();
    location = await createTestLocation();
    server = await startTestServer(location, { JWT_SECRET: "" });
    base = `http://127.0.0.1:${server.port}`;
    const devSecretFile = server.devSecretFile!;
    alice = new GraphQLClient(`${base}/graphql`, { headers: { authorization: `Bearer ${await devToken(devSecretFile, "alice", "owner")}` } });
    gateway = new GraphQLClient(`${base}/graphql`, { headers: { authorization: `Bearer ${await devToken(devSecretFile, "edge-gateway", "gateway")}` } });
    browser = await launchBrowser();
    await browser.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
    page = await browser.context.newPage();
    await page.routeWebSocket(/\/graphql$/, (ws) => {
      // A blocked attempt opens and is closed at once, as by a server that is going away.
      if (socketsBlocked) return void setTimeout(() => void ws.close({ code: 1012, reason: "blocked by the test" }), 50);
      sockets.add(ws);
      ws.connectToServer();
    });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await location?.drop();
  });

  it("signs in with the development sign-in; a link opens its service's tab", async () => {
    await page.goto(`${base}/keys/sms`);
    await page.getByRole("heading", { name: "Development sign-in" }).waitFor();
    await screenshot(page, "01-sign-in");
    await page.getByLabel("User id").fill("alice");
    await page.getByLabel("Role").selectOption("owner");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();

    const nav = page.getByRole("navigation", { name: "Main" });
    await nav.getByRole("link", { name: "API Keys" }).waitFor();
    expect(await nav.getByRole("link").allTextContents()).toEqual(["API Keys", "Usage", "Settings"]);
    expect(await nav.getByRole("link", { name: "API Keys" }).locator("svg").count()).toBe(1);
    expect(new URL(page.url()).pathname).toBe("/keys/sms");
    expect(await page.getByRole("link", { name: "SMS", exact: true }).getAttribute("aria-current")).toBe("page");

    await page.getByText("No API keys found!").waitFor();
    expect(await page.getByRole("button", { name: "+ Create API Key" }).isVisible()).toBe(true);
    expect(await page.getByRole("button", { name: "+ New API Key" }).count()).toBe(0);
    await screenshot(page, "02-empty-state");

    await page.getByRole("link", { name: "Email", exact: true }).click();
    await page.waitForURL(`${base}/keys/email`);
    expect(await page.getByRole("link", { name: "Email", exact: true }).getAttribute("aria-current")).toBe("page");
  });

  it("shows the server's BAD_USER_INPUT message next to Key Name and creates nothing", async () => {
    await page.getByRole("button", { name: "+ Create API Key" }).click();
    const dialog = page.getByRole("dialog", { name: "New API Key for Email Service" });
    await dialog.waitFor();
    expect(await dialog.getByText("Create new API key to use.").isVisible()).toBe(true);
    const asterisk = dialog.locator("label", { hasText: "Key Name" }).locator(".required");
    expect((await asterisk.textContent())?.trim()).toBe("*");
    expect(await asterisk.evaluate((el) => getComputedStyle(el).color)).toBe("rgb(192, 38, 45)");
    const name = dialog.getByLabel("Key Name");
    expect(await name.getAttribute("aria-required")).toBe("true");
    expect(await dialog.getByLabel("Key Description").isVisible()).toBe(true);

    for (const bad of ["", "x".repeat(65)]) {
      const expected = await graphQLErrorOf(alice.request(CreateKeyDocument, { input: { service: "EMAIL", name: bad } }));
      expect(expected.extensions.code).toBe("BAD_USER_INPUT");
      await name.fill(bad);
      await dialog.getByRole("button", { name: "Create" }).click();
      const describedBy = async () => {
        const errorId = await name.getAttribute("aria-describedby");
        return errorId ? page.locator(`[id="${errorId}"]`).textContent() : null;
      };
      await expect.poll(describedBy, { timeout: 15_000 }).toBe(expected.message);
      expect(await name.getAttribute("aria-invalid")).toBe("true");
    }
    await screenshot(page, "03-create-validation");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "detached" });
    expect((await alice.request(ListKeysDocument, { service: "EMAIL" })).apiKeys.totalCount).toBe(0);
    expect(await page.getByText("No API keys found!").isVisible()).toBe(true);
  });

  it("creates a key, shows the secret once with a copy button, then forgets it", async () => {
    await page.getByRole("button", { name: "+ Create API Key" }).click();
    const dialog = page.getByRole("dialog", { name: "New API Key for Email Service" });
    await dialog.getByLabel("Key Name").fill("Production");
    await dialog.getByLabel("Key Description").fill("Checkout service");
    await dialog.getByRole("button", { name: "Create" }).click();

    const shown = page.getByRole("dialog", { name: "API Key has been successfully generated." });
    await shown.waitFor();
    await toast("SUCCESS").waitFor();
    expect(await shown.getByRole("note").textContent()).toContain("only time it is shown");
    secret = (await shown.locator(".secret").textContent()) ?? "";
    expect(secret).toMatch(/^klp_email_\w{40,}$/);
    productionSecret = secret;
    await screenshot(page, "04-secret-shown");
    await shown.getByRole("button", { name: "Copy API key" }).click();
    await expect.poll(clipboard).toBe(secret);
    await shown.getByRole("button", { name: "Close", exact: true }).first().click();
    await shown.waitFor({ state: "detached" });

    // Gone from the page, from storage and from caches; no query returns it.
    expect(await page.content()).not.toContain(secret);
    expect(await page.evaluate(() => document.documentElement.outerHTML + [...document.querySelectorAll("input, textarea")].map((e) => (e as HTMLInputElement).value).join())).not.toContain(secret);
    expect(await storedText()).not.toContain(secret);
    expect(await page.evaluate(async () => (await caches.keys()).length)).toBe(0);
    const everything = await page.evaluate(async () => {
      const token = localStorage.getItem("keyledger.console.token");
      const response = await fetch("/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: "{ apiKeys(first: 50) { edges { node { id name description maskedKey status lastUsedAt createdAt updatedAt version usageCount } } } events(first: 100) { edges { node { data } } } }" }),
      });
      return response.text();
    });
    expect(everything).toContain("Production");
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain(secret.slice(10, 30));

    const row = rowOf("Production");
    await row.waitFor();
    const [created] = (await alice.request(ListKeysDocument, { service: "EMAIL" })).apiKeys.edges;
    expect(await row.locator(".key-description").textContent()).toBe("Checkout service");
    expect(await row.locator(".last-used").textContent()).toBe("Never");
    expect(await row.locator(".masked code").textContent()).toBe(created!.node.maskedKey);
    expect(await row.locator("td time").textContent()).toBe(new Date().toLocaleDateString("en", { dateStyle: "medium", timeZone: "UTC" }));
    expect(await row.getByRole("switch").getAttribute("aria-checked")).toBe("true");
    expect(await page.getByText("No API keys found!").count()).toBe(0);
    expect(await page.getByRole("button", { name: "+ New API Key" }).isVisible()).toBe(true);
    await row.getByRole("button", { name: "Copy masked key of Production" }).click();
    await expect.poll(clipboard).toBe(created!.node.maskedKey);
    await screenshot(page, "05-key-table");
  });

  it("updates Last Used and Uses live when a gateway verifies the key, without a reload", async () => {
    await page.evaluate(() => Object.assign(window, { sameDocument: true }));
    await liveBadge();
    const row = rowOf("Production");
    expect(await row.locator(".last-used").textContent()).toBe("Never");
    expect(await verify(secret)).toBe("VALID");
    await expect.poll(() => row.locator(".last-used").textContent(), { timeout: 15_000 }).toBe("just now");
    await expect.poll(() => row.locator(".uses").textContent()).toBe("1");
    expect(await row.locator(".last-used time").getAttribute("title")).toMatch(/\d{4}.*\d{1,2}:\d{2}:\d{2}/);
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    await screenshot(page, "06-live-last-used");
  });

  it("switches a key off so that a gateway's verification answers DISABLED, and on again", async () => {
    const status = rowOf("Production").getByRole("switch", { name: "Status of Production" });
    await status.click();
    await expect.poll(() => status.getAttribute("aria-checked")).toBe("false");
    expect(await verify(secret)).toBe("DISABLED");
    await screenshot(page, "07-status-off");
    await status.click();
    await expect.poll(() => status.getAttribute("aria-checked")).toBe("true");
    expect(await verify(secret)).toBe("VALID");
  });

  it("shows a CONFLICT when the key changed elsewhere, and refreshes the row", async () => {
    const [key] = (await alice.request(ListKeysDocument, { service: "EMAIL" })).apiKeys.edges;
    let intercepted = false;
    await page.route("**/graphql", async (route) => {
      if (!intercepted && route.request().postData()?.includes("SetKeyStatus")) {
        intercepted = true;
        await alice.request(UpdateKeyDocument, { input: { id: key!.node.id, name: "Production (renamed)" } });
      }
      await route.continue();
    });
    await rowOf("Production").getByRole("switch").click();
    await toast("CONFLICT").waitFor();
    await page.unroute("**/graphql");
    expect(intercepted).toBe(true);
    const row = rowOf("Production (renamed)");
    await row.waitFor();
    expect(await row.getByRole("switch").getAttribute("aria-checked")).toBe("true");
    await screenshot(page, "08-conflict");
  });

  it("edits a key's name and description, with the server's message for a bad name", async () => {
    await rowOf("Production (renamed)").getByRole("button", { name: "Edit Production (renamed)" }).click();
    const dialog = page.getByRole("dialog", { name: "Edit Production (renamed)" });
    await dialog.getByLabel("Key Name").fill("   ");
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.locator(".field-error").waitFor();
    await dialog.getByLabel("Key Name").fill("Production EU");
    await dialog.getByLabel("Key Description").fill("EU checkout");
    await screenshot(page, "09-edit");
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.waitFor({ state: "detached" });
    const row = rowOf("Production EU");
    await row.waitFor();
    expect(await row.locator(".key-description").textContent()).toBe("EU checkout");
  });

  it("shows a key created by another process without a reload (keyChanged)", async () => {
    await alice.request(CreateKeyDocument, { input: { service: "EMAIL", name: "Created by CI" } });
    await rowOf("Created by CI").waitFor();
    expect(await page.locator("tbody .key-name").allTextContents()).toEqual(["Created by CI", "Production EU"]);
  });

  it("creates a key with the keyboard alone", async () => {
    await page.goto(`${base}/keys/email`);
    await rowOf("Production EU").waitFor();
    let focused = "";
    for (let i = 0; i < 40 && focused !== "+ New API Key"; i++) {
      await page.keyboard.press("Tab");
      focused = await page.evaluate(() => document.activeElement?.textContent ?? "");
    }
    expect(focused).toBe("+ New API Key");
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: "New API Key for Email Service" });
    await dialog.waitFor();
    expect(await page.evaluate(() => document.activeElement?.getAttribute("name"))).toBe("name");
    await page.keyboard.type("Keyboard key");
    await page.keyboard.press("Tab");
    await page.keyboard.type("made without a mouse");
    await page.keyboard.press("Tab"); // Expires (Never)
    await page.keyboard.press("Tab"); // Usage limits, folded
    await page.keyboard.press("Tab"); // Cancel
    await page.keyboard.press("Tab"); // Create
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Create");
    await screenshot(page, "10-keyboard-create");
    await page.keyboard.press("Enter");
    const shown = page.getByRole("dialog", { name: "API Key has been successfully generated." });
    await shown.waitFor();
    const keyboardSecret = (await shown.locator(".secret").textContent()) ?? "";
    await page.keyboard.press("Escape");
    await shown.waitFor({ state: "detached" });
    expect(await page.content()).not.toContain(keyboardSecret);
    await rowOf("Keyboard key").waitFor();
    expect(await verify(keyboardSecret)).toBe("VALID");
    secret = keyboardSecret;
  });

  it("revokes a key after confirmation; it moves to the Revoked filter", async () => {
    await rowOf("Keyboard key").getByRole("button", { name: "Revoke Keyboard key" }).click();
    const dialog = page.getByRole("dialog", { name: "Revoke Keyboard key?" });
    expect(await dialog.textContent()).toContain("cannot be undone");
    await dialog.getByLabel("Reason").fill("Rotated out");
    await dialog.getByRole("button", { name: "Revoke", exact: true }).click();
    await dialog.waitFor({ state: "detached" });
    await toast("revoked").waitFor();
    await rowOf("Keyboard key").waitFor({ state: "detached" });
    expect(await verify(secret)).toBe("REVOKED");
    await page.getByRole("button", { name: "Revoked", exact: true }).click();
    const revoked = rowOf("Keyboard key");
    await revoked.waitFor();
    expect(await revoked.locator(".badge").textContent()).toBe("Revoked");
    expect(await revoked.getByRole("switch").count()).toBe(0);
    await screenshot(page, "11-revoked-filter");
    await page.getByRole("button", { name: "Active", exact: true }).click();
    await rowOf("Production EU").waitFor();
  });

  it("pages a long table, newest first", async () => {
    for (let i = 1; i <= 11; i++) await alice.request(CreateKeyDocument, { input: { service: "SMS", name: `SMS key ${String(i).padStart(2, "0")}` } });
    await page.getByRole("link", { name: "SMS", exact: true }).click();
    await rowOf("SMS key 11").waitFor();
    const names = () => page.locator("tbody .key-name").allTextContents();
    expect(await names()).toEqual(Array.from({ length: 10 }, (_, i) => `SMS key ${String(11 - i).padStart(2, "0")}`));
    expect(await page.getByRole("navigation", { name: "Pages" }).textContent()).toContain("Page 1 · 11 keys");
    await page.getByRole("button", { name: "Next" }).click();
    await expect.poll(names).toEqual(["SMS key 01"]);
    await page.getByRole("button", { name: "Previous" }).click();
    await expect.poll(async () => (await names()).length).toBe(10);
  });

  it("catches up after the socket drops and reconnects", async () => {
    await page.getByRole("link", { name: "Email", exact: true }).click();
    const row = rowOf("Production EU");
    await row.waitFor();
    await liveBadge();
    const uses = Number(await row.locator(".uses").textContent());

    socketsBlocked = true;
    for (const ws of sockets) await ws.close({ code: 1012, reason: "dropped by the test" });
    sockets.clear();
    await page.getByText("Reconnecting…").waitFor();
    expect(await verify(productionSecret)).toBe("VALID");
    expect(await verify(productionSecret)).toBe("VALID");
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(Number(await row.locator(".uses").textContent())).toBe(uses);
    await screenshot(page, "12-reconnecting");

    socketsBlocked = false;
    await page.locator(".live-live").waitFor({ timeout: 40_000 });
    await expect.poll(async () => Number(await row.locator(".uses").textContent()), { timeout: 15_000 }).toBe(uses + 2);
  });

  it("opens a new key's details from the success dialog", async () => {
    await page.getByRole("button", { name: "+ New API Key" }).click();
    const dialog = page.getByRole("dialog", { name: "New API Key for Email Service" });
    await dialog.getByLabel("Key Name").fill("Details key");
    await dialog.getByRole("button", { name: "Create" }).click();
    await page.getByRole("dialog", { name: "API Key has been successfully generated." }).getByRole("button", { name: "View Details" }).click();
    await page.waitForURL(/\/usage\?key=/);
    await expect.poll(() => page.locator(".summary").textContent(), { timeout: 20_000 }).toMatch(/^0 verifications of key “Details key”/);
    await page.getByText("No usage in this period.").waitFor();
    expect(await page.locator(".secret").count()).toBe(0);
  });

  it("charts usage per key and per service, with an empty state", async () => {
    await page.getByLabel("Key", { exact: true }).selectOption({ label: "All keys of the service" });
    const summary = page.locator(".summary");
    await expect.poll(() => summary.textContent(), { timeout: 20_000 }).toMatch(/verifications of all Email keys/);
    expect(await page.getByRole("img", { name: /Bar chart of verifications/ }).isVisible()).toBe(true);
    const total = Number((await summary.textContent())?.split(" ")[0]);
    expect(total).toBeGreaterThanOrEqual(4);
    await page.getByLabel("Key", { exact: true }).selectOption({ label: "Production EU" });
    await expect.poll(() => summary.textContent()).toMatch(/verifications of key “Production EU”/);
    await page.getByLabel("Period").selectOption({ label: "Last 30 days, by day" });
    await expect.poll(() => summary.textContent()).toMatch(/last 30 days, by day/);
    await page.getByRole("img", { name: /Bar chart/ }).waitFor();
    await page.getByLabel("Period").selectOption({ label: "Last 24 hours, by hour" });
    const chart = page.getByRole("img", { name: /Bar chart/ });
    const box = (await chart.boundingBox())!;
    await chart.hover({ position: { x: box.width - 24, y: box.height / 2 } });
    await screenshot(page, "13-usage-chart");
    await page.getByLabel("Service").selectOption({ label: "SMS" });
    await page.getByText("No usage in this period.").waitFor();
    await screenshot(page, "14-usage-empty");
  });

  it("keeps the Audit log for auditors: paged, filtered, verified and downloadable", async () => {
    expect(await page.getByRole("link", { name: "Audit log" }).count()).toBe(0);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Development sign-in" }).waitFor();
    expect(await storedText()).toBe("{}{}");
    await page.getByLabel("User id").fill("audrey");
    await page.getByLabel("Role").selectOption("auditor");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit log" }).click();

    const types = () => page.locator("tbody .badge").allTextContents();
    await expect.poll(async () => (await types()).length).toBe(20);
    const firstPage = await page.locator("tbody tr td.num").allTextContents();
    expect(firstPage.slice(0, 3)).toEqual(["1", "2", "3"]);
    await page.getByRole("button", { name: "Next" }).click();
    await expect.poll(() => page.locator("tbody tr td.num").first().textContent()).toBe("21");
    await page.getByLabel("Event type").selectOption("KeyUsed");
    await page.getByRole("button", { name: "Filter" }).click();
    await expect.poll(async () => [...new Set(await types())]).toEqual(["KeyUsed"]);

    const { events } = await alice.request(EventsDocument, { first: 1, types: ["KeyRevoked"] });
    const revokedKey = events.edges[0]!.node.streamId;
    await page.getByLabel("Event type").selectOption("");
    await page.getByLabel("Key id").fill(revokedKey);
    await page.getByRole("button", { name: "Filter" }).click();
    // The verification after the revocation is in the log too (KeyDenied, since issue #10).
    await expect.poll(types).toEqual(["KeyCreated", "KeyUsed", "KeyRevoked", "KeyDenied"]);
    await screenshot(page, "15-audit-log");

    await page.getByRole("button", { name: "Verify log" }).click();
    const result = page.locator(".verify-result");
    await result.waitFor();
    expect(await result.textContent()).toMatch(/^Log verified: \d+ events and \d+ signed checkpoints checked/);
    await screenshot(page, "16-verify-log");

    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download NDJSON" }).click()]);
    const lines = readFileSync((await download.path())!, "utf8").trim().split("\n");
    const eventsChecked = Number(/(\d+) events/.exec((await result.textContent()) ?? "")?.[1]);
    expect(lines.length).toBe(eventsChecked);
    expect(lines.map((line) => (JSON.parse(line) as { position: string }).position).slice(0, 2)).toEqual(["1", "2"]);
  });

  it("accepts a pasted JWT; sign-out forgets it", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    const token = page.getByLabel("JWT");
    await token.fill("not a token");
    await page.getByRole("button", { name: "Use token" }).click();
    await page.getByText("That is not a JWT").waitFor();
    await token.fill(await devToken(server.devSecretFile!, "bob", "owner"));
    await screenshot(page, "17-paste-token");
    await page.getByRole("button", { name: "Use token" }).click();
    await page.locator(".who", { hasText: "bob" }).waitFor();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "API Keys" }).click();
    await page.getByText("No API keys found!").waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in to the console" }).waitFor();
    expect(await storedText()).toBe("{}{}");
  });
});
