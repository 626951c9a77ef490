import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from "node:http";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const NGINX_TEMPLATE = new URL("../../docs/gateways/nginx.conf", import.meta.url);
const NGINX_BINARIES = ["/usr/sbin/nginx", "/usr/bin/nginx"];

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Replaces each `from` in the template exactly once; a template that changed shape fails loudly. */
export function render(template: string, replacements: Array<[string, string]>): string {
  let text = template;
  for (const [from, to] of replacements) {
    const count = text.split(from).length - 1;
    if (count !== 1) throw new Error(`expected ${JSON.stringify(from)} once in the nginx template, found it ${count} times`);
    text = text.replace(from, to);
  }
  return text;
}

/** The shipped configuration with the test's addresses and gateway token. */
export function shippedConfig(keyledgerPort: number, servicePort: number, listenPort: number, gatewayToken: string): string {
  return render(readFileSync(NGINX_TEMPLATE, "utf8"), [
    ["server 127.0.0.1:4000;", `server 127.0.0.1:${keyledgerPort};`],
    ["server 127.0.0.1:8080;", `server 127.0.0.1:${servicePort};`],
    ["listen 80;", `listen 127.0.0.1:${listenPort};`],
    ["REPLACE_WITH_GATEWAY_TOKEN", gatewayToken],
  ]);
}

export interface RunningNginx {
  url: string;
  errorLog(): string;
  stop(): Promise<void>;
}

/**
 * Debian's nginx on a loopback port, everything (pid, logs, temp files) in a temp folder.
 * As root, nginx would switch its workers to `nobody`, which cannot enter that folder: the
 * workers stay the user that runs the test.
 */
export async function startNginx(site: string, listenPort: number): Promise<RunningNginx> {
  const binary = NGINX_BINARIES.find((path) => existsSync(path));
  if (!binary) throw new Error("nginx is not installed (apt-get install -y nginx; .ci/run does it)");
  const dir = mkdtempSync(join(tmpdir(), "keyledger-nginx-"));
  const asRoot = process.getuid?.() === 0;
  writeFileSync(join(dir, "site.conf"), site);
  writeFileSync(
    join(dir, "nginx.conf"),
    [
      asRoot ? "user root root;" : "",
      "daemon off;",
      "worker_processes 1;",
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      "events { worker_connections 256; }",
      "http {",
      `  access_log ${dir}/access.log;`,
      ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((kind) => `  ${kind}_temp_path ${dir}/${kind}_temp;`),
      `  include ${dir}/site.conf;`,
      "}",
    ].join("\n"),
  );
  const child: ChildProcess = spawn(binary, ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const errorLog = () => (existsSync(join(dir, "error.log")) ? readFileSync(join(dir, "error.log"), "utf8") : "");

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${output}\n${errorLog()}`);
    if (await accepts(listenPort)) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`nginx did not listen on ${listenPort}: ${output}\n${errorLog()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `http://127.0.0.1:${listenPort}`,
    errorLog,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** The protected service: records and echoes the headers each request reached it with. */
export async function startEchoService(): Promise<{ port: number; seen: IncomingHttpHeaders[]; close(): Promise<void> }> {
  const seen: IncomingHttpHeaders[] = [];
  const server: Server = createHttpServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ path: req.url, headers: req.headers }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    seen,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
