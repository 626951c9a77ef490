import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { createTestLocation, onPostgres, type TestDatabaseLocation } from "../support/databases.js";
import { startTestServer } from "../support/server.js";
import { assertConsoleBuilt, launchBrowser } from "./browser.js";

describe.skipIf(onPostgres)("smoke", () => {
  let location: TestDatabaseLocation;
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;
  beforeAll(async () => {
    assertConsoleBuilt();
    location = await createTestLocation();
    server = await startTestServer(location, { JWT_SECRET: "" });
    browser = await launchBrowser();
    page = await browser.context.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await location?.drop();
  });
  it("signs in", async () => {
    await page.goto(`http://127.0.0.1:${server.port}/`);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByText("No API keys found!").waitFor();
    expect(page.url()).toContain("/keys/email");
  });
});
