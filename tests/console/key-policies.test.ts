import { GraphQLClient } from "graphql-request";
import type { Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AddCreditsDocument, CreatePolicyKeyDocument, PolicyKeyDocument, RevokeKeyDocument, SetStatusDocument, UsageOutcomesDocument, VerifyDocument, type CreateApiKeyInput } from "../generated/graphql.js";
import { graphQLErrorOf } from "../support/clients.js";
import { createTestLocation, onPostgres, type TestDatabaseLocation } from "../support/databases.js";
import { startTestServer } from "../support/server.js";
import { assertConsoleBuilt, devToken, launchBrowser, screenshot } from "./browser.js";

const DAY_MS = 86_400_000;

// Issue #10 in the console, in Debian's Chromium against a real server on the embedded default:
// a key with credits, a rate limit and an expiry, a top-up, rotations with and without a grace
// period, and the usage chart's refusals. PGlite only, as console.test.ts (same pages on PostgreSQL).
describe.skipIf(onPostgres)("key policies in the console", () => {
  let location: TestDatabaseLocation;
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;
  let base: string;
  let alice: GraphQLClient;
  let gateway: GraphQLClient;
  let meteredId = "";
  let meteredSecret = "";
  let unmeteredId = "";
  let unmeteredSecret = "";

  const rowById = (id: string): Locator => page.locator(`tbody tr[data-key-id="${id}"]`);
  const rowsNamed = (name: string): Locator => page.locator("tbody tr").filter({ has: page.locator(".key-name", { hasText: new RegExp(`^${name}$`) }) });
  const verify = async (key: string) => (await gateway.request(VerifyDocument, { input: { key, service: "EMAIL" } })).verifyApiKey.code;
  const policiesOf = async (id: string) => (await alice.request(PolicyKeyDocument, { id })).apiKey;
  const toast = (text: string) => page.locator(".toast").filter({ hasText: text });
  /** The key table fits the 1280 px page: no column (the actions) pushed out of sight behind a scroll bar. */
  const expectTableFits = async () => expect(await page.locator(".table-scroll").evaluate((element) => element.scrollWidth - element.clientWidth)).toBe(0);
  const serverError = async (input: Partial<CreateApiKeyInput>) => {
    const error = await graphQLErrorOf(alice.request(CreatePolicyKeyDocument, { input: { service: "EMAIL", name: "never created", ...input } }));
    expect(error.extensions.code).toBe("BAD_USER_INPUT");
    return { message: error.message, field: error.extensions.field };
  };
  /** The text of the error a field's aria-describedby points at. */
  const describedBy = async (field: Locator) => {
    const ids = (await field.getAttribute("aria-describedby"))?.split(" ") ?? [];
    const texts = await Promise.all(ids.map((id) => page.locator(`[id="${id}"]`).textContent()));
    return texts.find((text, index) => ids[index]!.endsWith("-error") && text) ?? null;
  };
  const secretDialog = () => page.getByRole("dialog", { name: "API Key has been successfully generated." });

  beforeAll(async () => {
    assertConsoleBuilt();
    location = await createTestLocation();
    server = await startTestServer(location, { JWT_SECRET: "" });
    base = `http://127.0.0.1:${server.port}`;
    alice = new GraphQLClient(`${base}/graphql`, { headers: { authorization: `Bearer ${await devToken(server.devSecretFile!, "alice", "owner")}` } });
    gateway = new GraphQLClient(`${base}/graphql`, { headers: { authorization: `Bearer ${await devToken(server.devSecretFile!, "edge-gateway", "gateway")}` } });
    browser = await launchBrowser();
    page = await browser.context.newPage();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await location?.drop();
  });

  it("creates a key with credits, a daily refill, a rate limit and an expiry; the server's errors land at their fields", async () => {
    await page.goto(`${base}/keys/email`);
    await page.getByLabel("User id").fill("alice");
    await page.getByLabel("Role").selectOption("owner");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByRole("button", { name: "+ Create API Key" }).click();
    const dialog = page.getByRole("dialog", { name: "New API Key for Email Service" });
    await dialog.waitFor();

    // Simple by default: expiry is a preset, the limits are folded away.
    const advanced = dialog.locator("details.advanced");
    expect(await advanced.evaluate((el) => (el as HTMLDetailsElement).open)).toBe(false);
    expect(await dialog.getByLabel("Credits", { exact: true }).isVisible()).toBe(false);
    expect(await dialog.getByLabel("Expires").locator("option").allTextContents()).toEqual(["Never", "In 30 days", "In 90 days", "On a date…"]);
    await dialog.getByLabel("Key Name").fill("Metered");

    // A day in the past: the server refuses expiresAt, and says so under the date.
    await dialog.getByLabel("Expires").selectOption({ label: "On a date…" });
    const date = dialog.getByLabel("Expiry date");
    await date.fill("2020-01-01");
    const pastExpiry = await serverError({ expiresAt: "2020-01-01T00:00:00.000Z" });
    expect(pastExpiry.field).toBe("expiresAt");
    await dialog.getByRole("button", { name: "Create" }).click();
    await expect.poll(() => describedBy(date), { timeout: 15_000 }).toBe(pastExpiry.message);
    expect(await date.getAttribute("aria-invalid")).toBe("true");

    // A rate limit's name the server refuses: the folded section opens on the field.
    await dialog.getByLabel("Expires").selectOption({ label: "In 30 days" });
    await advanced.locator("summary").click();
    await dialog.getByLabel("Credits", { exact: true }).fill("100");
    await dialog.getByLabel("Refill", { exact: true }).selectOption({ label: "Daily (00:00 UTC)" });
    await dialog.getByLabel("Refill to").fill("100");
    const limitName = dialog.getByLabel("Limit name");
    await limitName.fill("Per Minute");
    await dialog.getByLabel("Requests").fill("100");
    await dialog.getByLabel("Window").selectOption({ label: "per minute" });
    const badName = await serverError({ ratelimits: [{ name: "Per Minute", limit: 100, durationMs: 60_000 }] });
    expect(badName.field).toBe("ratelimits[0].name");
    await dialog.getByRole("button", { name: "Create" }).click();
    await expect.poll(() => describedBy(limitName), { timeout: 15_000 }).toBe(badName.message);
    expect(await dialog.locator(".field-error").count()).toBe(1);
    await screenshot(page, "18-create-policies");

    await limitName.fill("per-minute");
    const createdAt = Date.now();
    await dialog.getByRole("button", { name: "Create" }).click();
    await secretDialog().waitFor();
    meteredSecret = (await secretDialog().locator(".secret").textContent()) ?? "";
    expect(meteredSecret).toMatch(/^klp_email_\w{40,}$/);
    await secretDialog().getByRole("button", { name: "Close", exact: true }).first().click();

    const row = rowsNamed("Metered");
    await row.waitFor();
    meteredId = (await row.getAttribute("data-key-id"))!;
    const created = await policiesOf(meteredId);
    expect(created.credits).toMatchObject({ remaining: 100, refill: { amount: 100, interval: "DAILY", day: null } });
    expect(created.ratelimits).toEqual([{ name: "per-minute", limit: 100, durationMs: 60_000 }]);
    const expiresAt = Date.parse(created.expiresAt!);
    expect(expiresAt).toBeGreaterThanOrEqual(createdAt + 30 * DAY_MS - 60_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 30 * DAY_MS);

    expect(await row.locator(".expires time").getAttribute("datetime")).toBe(created.expiresAt);
    expect(await row.locator(".expires").textContent()).toBe("in 30 days");
    expect(await row.locator(".credits").textContent()).toBe("100");
    expect(await row.locator(".cell-note").allTextContents()).toEqual(["refills to 100 daily", "100 per minute"]);

    // Each verification spends a credit; the balance on screen follows without a reload.
    expect(await verify(meteredSecret)).toBe("VALID");
    expect(await verify(meteredSecret)).toBe("VALID");
    await expect.poll(() => row.locator(".credits").textContent(), { timeout: 15_000 }).toBe("98");
    const unmetered = await alice.request(CreatePolicyKeyDocument, { input: { service: "EMAIL", name: "Unmetered" } });
    unmeteredId = unmetered.createApiKey.apiKey.id;
    unmeteredSecret = unmetered.createApiKey.secret;
    await rowById(unmeteredId).waitFor();
    expect(await rowById(unmeteredId).locator(".credits-cell").textContent()).toBe("Unlimited");
    expect(await rowById(unmeteredId).locator(".expires").textContent()).toBe("Never");
    // At 1280 px with every column filled, the masked key and the dates each stay on one line.
    const lineCount = (selector: string) => row.locator(selector).evaluate((element) => {
      const range = document.createRange();
      range.selectNodeContents(element);
      return new Set([...range.getClientRects()].map((rect) => Math.round(rect.top))).size;
    });
    for (const selector of [".masked code", ".last-used", ".expires", ".created"]) expect(await lineCount(selector), selector).toBe(1);
    await expectTableFits();
    await screenshot(page, "19-key-table-policies");
  });

  it("adds credits to a metered key (only metered keys offer it), with the server's message for a bad amount", async () => {
    expect(await rowById(unmeteredId).getByRole("button", { name: "Add credits Unmetered" }).count()).toBe(0);
    await rowById(meteredId).getByRole("button", { name: "Add credits Metered" }).click();
    const dialog = page.getByRole("dialog", { name: "Add credits to Metered" });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain("Balance now: 98 credits.");
    const amount = dialog.getByLabel("Credits to add");
    expect(await page.evaluate(() => document.activeElement?.getAttribute("name"))).toBe("amount");

    const zero = await graphQLErrorOf(alice.request(AddCreditsDocument, { input: { id: meteredId, amount: 0 } }));
    expect(zero.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "amount" });
    await amount.fill("0");
    await dialog.getByRole("button", { name: "Add credits" }).click();
    await expect.poll(() => describedBy(amount), { timeout: 15_000 }).toBe(zero.message);

    await amount.fill("50");
    await screenshot(page, "20-add-credits");
    await dialog.getByRole("button", { name: "Add credits" }).click();
    await dialog.waitFor({ state: "detached" });
    await toast("now has 148 credits").waitFor();
    await expect.poll(() => rowById(meteredId).locator(".credits").textContent()).toBe("148");
    expect((await policiesOf(meteredId)).credits?.remaining).toBe(148);
  });

  it("rotates a key with a 24-hour grace period: the new secret shown once, the old key marked rotating", async () => {
    await rowById(meteredId).getByRole("button", { name: "Rotate Metered" }).click();
    const dialog = page.getByRole("dialog", { name: "Rotate Metered?" });
    await dialog.waitFor();
    const choices = dialog.getByRole("radio");
    expect(await choices.evaluateAll((inputs) => inputs.map((i) => (i.closest("label")?.textContent ?? "").split(" (")[0]))).toEqual(["Now", "In 1 hour", "In 24 hours", "In 7 days"]);
    expect(await dialog.getByRole("radio", { name: /In 24 hours/ }).isChecked()).toBe(true);
    await screenshot(page, "21-rotate-confirm");
    const rotatedAt = Date.now();
    await dialog.getByRole("button", { name: "Rotate key" }).click();

    const shown = secretDialog();
    await shown.waitFor();
    await toast("rotated").waitFor();
    const newSecret = (await shown.locator(".secret").textContent()) ?? "";
    expect(newSecret).toMatch(/^klp_email_\w{40,}$/);
    expect(newSecret).not.toBe(meteredSecret);
    const old = await policiesOf(meteredId);
    const newId = old.rotatedTo!.id;
    expect(Date.parse(old.expiresAt!)).toBeGreaterThanOrEqual(rotatedAt + DAY_MS - 60_000);
    expect(await shown.locator(".previous-key").textContent()).toMatch(/^It replaces .+, which keeps working until .+: deploy the new key before then\.$/);
    expect(await shown.locator(".previous-key code").textContent()).toBe(await rowById(meteredId).locator(".masked code").textContent());
    await screenshot(page, "22-rotate-secret");
    await shown.getByRole("button", { name: "Close", exact: true }).first().click();
    await shown.waitFor({ state: "detached" });
    expect(await page.content()).not.toContain(newSecret);

    // Both answer during the grace period; the balance moved to the new key.
    expect(await verify(newSecret)).toBe("VALID");
    expect(await verify(meteredSecret)).toBe("VALID");
    expect((await policiesOf(newId)).credits?.remaining).toBe(146);

    const oldRow = rowById(meteredId);
    await expect.poll(() => oldRow.locator(".expires .badge").textContent(), { timeout: 15_000 }).toBe("Rotating");
    expect(await oldRow.locator(".expires").textContent()).toMatch(/^Rotating expires (tomorrow|in 2[34] hours)$/);
    expect(await oldRow.getByRole("button", { name: "Rotate Metered" }).count()).toBe(0);
    expect(await oldRow.getByRole("button", { name: "Add credits Metered" }).count()).toBe(0);
    const newRow = rowById(newId);
    await newRow.waitFor();
    expect(await newRow.getByRole("button", { name: "Rotate Metered" }).count()).toBe(1);
    await expect.poll(() => newRow.locator(".credits").textContent(), { timeout: 15_000 }).toBe("146");
    await expectTableFits();
    await screenshot(page, "23-rotating-row");
    meteredSecret = newSecret;
  });

  it("rotates a key at once: the old key is marked expired and answers EXPIRED", async () => {
    await rowById(unmeteredId).getByRole("button", { name: "Rotate Unmetered" }).click();
    const dialog = page.getByRole("dialog", { name: "Rotate Unmetered?" });
    await dialog.getByRole("radio", { name: /Now/ }).check();
    await dialog.getByRole("button", { name: "Rotate key" }).click();
    const shown = secretDialog();
    await shown.waitFor();
    expect(await shown.locator(".previous-key").textContent()).toMatch(/which has stopped working\.$/);
    const newSecret = (await shown.locator(".secret").textContent()) ?? "";
    await shown.getByRole("button", { name: "Close", exact: true }).first().click();
    await shown.waitFor({ state: "detached" });

    expect(await verify(unmeteredSecret)).toBe("EXPIRED");
    expect(await verify(newSecret)).toBe("VALID");
    const oldRow = rowById(unmeteredId);
    await expect.poll(() => oldRow.locator(".expires .badge").textContent(), { timeout: 15_000 }).toBe("Expired");
    expect(await oldRow.getByRole("button", { name: "Rotate Unmetered" }).count()).toBe(0);
    expect(await rowsNamed("Unmetered").count()).toBe(2);
  });

  it("fits a monthly refill's note in the table at 1280 px, and never scrolls the page sideways at 800 px", async () => {
    const monthly = await alice.request(CreatePolicyKeyDocument, {
      input: { service: "EMAIL", name: "Monthly", credits: { remaining: 100, refill: { amount: 100, interval: "MONTHLY", day: 1 } } },
    });
    const row = rowById(monthly.createApiKey.apiKey.id);
    await expect.poll(() => row.locator(".cell-note").first().textContent(), { timeout: 15_000 }).toMatch(/monthly/);
    await expectTableFits();
    await page.setViewportSize({ width: 800, height: 800 });
    try {
      // The table scrolls inside its box; the page itself does not.
      expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0);
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it("shows the server's reason when a rotation is refused, not a stale-version message", async () => {
    const paused = await alice.request(CreatePolicyKeyDocument, { input: { service: "EMAIL", name: "Paused" } });
    await alice.request(SetStatusDocument, { input: { id: paused.createApiKey.apiKey.id, status: "INACTIVE" } });
    const row = rowById(paused.createApiKey.apiKey.id);
    await expect.poll(() => row.locator(".switch").getAttribute("aria-checked"), { timeout: 15_000 }).toBe("false");
    await row.getByRole("button", { name: "Rotate Paused" }).click();
    const dialog = page.getByRole("dialog", { name: "Rotate Paused?" });
    await dialog.getByRole("button", { name: "Rotate key" }).click();
    await expect.poll(() => dialog.locator(".form-error").textContent(), { timeout: 15_000 }).toMatch(/switched off/);
    await dialog.getByRole("button", { name: "Cancel" }).click();
  });

  it("stacks rate-limited, usage-exceeded and denied verifications next to valid ones in the usage chart", async () => {
    const limited = await alice.request(CreatePolicyKeyDocument, { input: { service: "EMAIL", name: "Limited", ratelimits: [{ name: "hourly", limit: 1, durationMs: 3_600_000 }] } });
    const scarce = await alice.request(CreatePolicyKeyDocument, { input: { service: "EMAIL", name: "Scarce", credits: { remaining: 1 } } });
    expect(await verify(limited.createApiKey.secret)).toBe("VALID");
    expect(await verify(limited.createApiKey.secret)).toBe("RATE_LIMITED");
    expect(await verify(scarce.createApiKey.secret)).toBe("VALID");
    expect(await verify(scarce.createApiKey.secret)).toBe("USAGE_EXCEEDED");
    expect(await verify(unmeteredSecret)).toBe("EXPIRED");

    // What the server counts for every live key of the service, summed as the page sums it.
    const ids = [meteredId, unmeteredId, limited.createApiKey.apiKey.id, scarce.createApiKey.apiKey.id, (await policiesOf(meteredId)).rotatedTo!.id, (await policiesOf(unmeteredId)).rotatedTo!.id];
    const to = new Date(Date.now() + DAY_MS).toISOString();
    const from = new Date(Date.now() - DAY_MS).toISOString();
    const expected = { valid: 0, rateLimited: 0, usageExceeded: 0, denied: 0 };
    for (const keyId of ids) {
      for (const bucket of (await alice.request(UsageOutcomesDocument, { keyId, from, to })).keyUsage) {
        for (const outcome of Object.keys(expected) as (keyof typeof expected)[]) expected[outcome] += bucket[outcome];
      }
    }
    expect(expected.rateLimited).toBe(1);
    expect(expected.usageExceeded).toBe(1);
    expect(expected.denied).toBeGreaterThanOrEqual(2);
    // A revoked key's verifications still count (this one has a valid and a rate-limited one).
    await alice.request(RevokeKeyDocument, { input: { id: limited.createApiKey.apiKey.id } });

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Usage" }).click();
    const outcomes = page.getByRole("list", { name: "Verifications by outcome" });
    const shown = async () => Object.fromEntries(await outcomes.locator("li").evaluateAll((items) => items.map((li) => [(li as HTMLElement).dataset.outcome, Number(li.querySelector("strong")?.textContent?.replace(/,/g, ""))])));
    await expect.poll(shown, { timeout: 20_000 }).toEqual(expected);
    const total = expected.valid + expected.rateLimited + expected.usageExceeded + expected.denied;
    expect(await page.locator(".summary").textContent()).toMatch(new RegExp(`^${total} verifications of all Email keys`));
    const chart = page.getByRole("img", { name: /^Bar chart of verifications of all Email keys by outcome/ });
    await chart.waitFor();
    const box = (await chart.boundingBox())!;
    await chart.hover({ position: { x: box.width - 24, y: box.height / 2 } });
    await screenshot(page, "24-usage-outcomes");
  });
});
