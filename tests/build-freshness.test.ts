// `npm start` runs the bundle in dist/; its `prestart` (scripts/build-if-stale.mjs) rebuilds what is
// older than its sources, so that a start after `git pull` never runs an old server against new
// sources and migrations. Checked here on a scratch repository layout with chosen file times.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { repoRoot } from "./support/processes.js";

const SCRIPT = join(repoRoot, "scripts/build-if-stale.mjs");
const roots: string[] = [];

/** A repository layout whose files were last written `minutesAgo` minutes ago. */
function layout(files: Record<string, number>): string {
  const root = mkdtempSync(join(tmpdir(), "keyledger-freshness-"));
  roots.push(root);
  for (const [path, minutesAgo] of Object.entries(files)) {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, "");
    const at = new Date(Date.now() - minutesAgo * 60_000);
    utimesSync(full, at, at);
  }
  return root;
}

const staleness = (root: string) => execFileSync(process.execPath, [SCRIPT, "--check", root], { encoding: "utf8" }).trim().split("\n").filter(Boolean);

const built = { "dist/server/main.js": 10, "dist/console/index.html": 10 };

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

describe("npm start's freshness check", () => {
  it("finds nothing to rebuild when every build is newer than its sources", () => {
    expect(staleness(layout({ "src/main.ts": 20, "src/console/App.tsx": 20, "prisma/schema.prisma": 30, "schema.graphql": 30, ...built }))).toEqual([]);
  });

  it("rebuilds the server when a server source changed after its build, naming the file", () => {
    const root = layout({ "src/main.ts": 20, "src/eventstore/sealer.ts": 1, "src/console/App.tsx": 20, ...built });
    expect(staleness(root)).toEqual(["server: src/eventstore/sealer.ts changed after dist/server/main.js was built"]);
  });

  it("rebuilds only the console when only the console's sources changed", () => {
    const root = layout({ "src/main.ts": 20, "src/console/pages/Keys.tsx": 1, ...built });
    expect(staleness(root)).toEqual(["console: src/console/pages/Keys.tsx changed after dist/console/index.html was built"]);
  });

  it("rebuilds after the schemas their generated code comes from changed, and a build that is missing", () => {
    expect(staleness(layout({ "src/main.ts": 20, "prisma/schema.prisma": 1, "schema.graphql": 20, ...built }))).toEqual([
      "server: prisma/schema.prisma changed after dist/server/main.js was built",
    ]);
    expect(staleness(layout({ "src/main.ts": 20, "schema.graphql": 1, ...built }))).toEqual([
      "console: schema.graphql changed after dist/console/index.html was built",
    ]);
    expect(staleness(layout({ "src/main.ts": 20, "dist/console/index.html": 10 }))).toEqual(["server: dist/server/main.js is missing"]);
  });

  it("ignores generated code, which every rebuild regenerates from the schemas it checks", () => {
    expect(staleness(layout({ "src/main.ts": 20, "src/db/generated/pothos-types.ts": 1, "src/console/generated/graphql.ts": 1, "src/console/App.tsx": 20, ...built }))).toEqual([]);
  });

  it("ignores files no build reads, such as an editor's swap file", () => {
    expect(staleness(layout({ "src/main.ts": 20, "src/.main.ts.swp": 1, "src/console/App.tsx~": 1, ...built }))).toEqual([]);
  });

  it("leaves an installation without sources alone", () => {
    expect(staleness(layout({ ...built }))).toEqual([]);
  });

  it("says to run npm install when package-lock.json asks for packages node_modules does not have", () => {
    const root = layout({ "src/main.ts": 20, ...built });
    const lock = (packages: Record<string, object>) => JSON.stringify({ lockfileVersion: 3, packages: { "": { name: "keyledger" }, ...packages } });
    const warning = () => spawnSync(process.execPath, [SCRIPT, "--check", root], { encoding: "utf8" }).stderr.trim();
    writeFileSync(join(root, "package-lock.json"), lock({ "node_modules/pg": { version: "8.16.0" }, "node_modules/@esbuild/aix-ppc64": { version: "0.28.2", optional: true } }));
    mkdirSync(join(root, "node_modules"));
    writeFileSync(join(root, "node_modules/.package-lock.json"), lock({ "node_modules/pg": { version: "8.16.0" } }));
    expect(warning()).toBe(""); // another platform's optional build is not missing
    writeFileSync(join(root, "package-lock.json"), lock({ "node_modules/pg": { version: "8.17.1" }, "node_modules/jose": { version: "6.1.0" } }));
    expect(warning()).toBe(
      "keyledger: package-lock.json asks for packages node_modules does not have (pg@8.17.1 (installed: 8.16.0), jose@6.1.0 (installed: none)): run `npm install`",
    );
  });

  it("lets one start build at a time: a second waits for the first, and a lock its holder left by dying is taken over", async () => {
    const root = layout({});
    const log = join(root, "log");
    const builder = (name: string) =>
      new Promise<void>((resolve, reject) => {
        const code = `import { appendFileSync } from "node:fs";
          const { withBuildLock } = await import(${JSON.stringify(pathToFileURL(SCRIPT).href)});
          withBuildLock(${JSON.stringify(root)}, () => {
            appendFileSync(${JSON.stringify(log)}, "${name} starts\\n");
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 400);
            appendFileSync(${JSON.stringify(log)}, "${name} ends\\n");
          });`;
        const child = spawn(process.execPath, ["--input-type=module", "-e", code], { stdio: "inherit" });
        child.on("exit", (status) => (status === 0 ? resolve() : reject(new Error(`${name} exited with ${status}`))));
      });
    await Promise.all([builder("a"), builder("b")]);
    const lines = readFileSync(log, "utf8").trim().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]!.split(" ")[0]).toBe(lines[1]!.split(" ")[0]); // the first to start ends before the other starts
    expect(lines.map((line) => line.split(" ")[1])).toEqual(["starts", "ends", "starts", "ends"]);
    expect(existsSync(join(root, "dist/.build-lock"))).toBe(false);

    const dead = spawnSync(process.execPath, ["-e", "process.pid"]).pid!;
    writeFileSync(join(root, "dist/.build-lock"), String(dead));
    writeFileSync(log, "");
    await builder("c");
    expect(readFileSync(log, "utf8")).toBe("c starts\nc ends\n");
  });
});
