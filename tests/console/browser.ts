import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { signToken } from "../../src/auth/tokens.js";
import type { Role } from "../../src/auth/viewer.js";
import { defaultConsoleDir } from "../../src/server/console-routes.js";

/** Debian's Chromium (apt-get install -y chromium); Playwright never downloads a browser here. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOTS = join(import.meta.dirname, "../../docs/console");

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function assertConsoleBuilt(): void {
  if (!existsSync(join(defaultConsoleDir(), "index.html"))) {
    throw new Error("dist/console is missing: run `npm run build:console` (npm test and npm install do)");
  }
}

/** One Chromium per test file, in a fresh profile that is deleted afterwards. */
export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), "keyledger-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
    locale: "en-US",
    timezoneId: "UTC",
  });
  context.setDefaultTimeout(20_000);
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

/** A token signed with the server's generated development secret, as the dev sign-in issues. */
export async function devToken(devSecretFile: string, sub: string, role: Role): Promise<string> {
  return signToken(readFileSync(devSecretFile, "utf8").trim(), { sub, roles: [role], expiresIn: "10m" });
}
