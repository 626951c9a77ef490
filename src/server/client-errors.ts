import type { Duplex } from "node:stream";

const HEADER_VALUE_ERROR = /Invalid header value char/;

/** The header named on the line where the parser stopped, if it is a header line. */
function headerAt(raw: Buffer | undefined, offset: number | undefined): string | undefined {
  if (!raw || offset === undefined) return undefined;
  const lineStart = raw.lastIndexOf("\n", offset) + 1;
  const name = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):/.exec(raw.subarray(lineStart, offset).toString("latin1"))?.[1];
  return name;
}

function reply(socket: Duplex, status: string, body?: unknown): void {
  const json = body === undefined ? "" : JSON.stringify(body);
  const head = [`HTTP/1.1 ${status}`, "Connection: close"];
  if (json) head.push("Content-Type: application/json", "X-Keyledger-Code: BAD_USER_INPUT", `Content-Length: ${Buffer.byteLength(json)}`);
  socket.end(`${head.join("\r\n")}\r\n\r\n${json}`);
}

/**
 * node:http's clientError listener. Node answers a header value with control characters with a
 * bare 400 before any route sees the request; this one names the header, in the API's error
 * shape. Other parse errors get what Node's default would send (431, 408 or 400).
 */
export function answerClientError(error: Error & { code?: string; rawPacket?: Buffer; bytesParsed?: number }, socket: Duplex): void {
  if (error.code === "ECONNRESET" || !socket.writable) return void socket.destroy();
  if (error.code === "HPE_HEADER_OVERFLOW") return reply(socket, "431 Request Header Fields Too Large");
  if (error.code === "HPE_CHUNK_EXTENSIONS_OVERFLOW") return reply(socket, "413 Payload Too Large");
  if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") return reply(socket, "408 Request Timeout");
  const field = HEADER_VALUE_ERROR.test(error.message) ? headerAt(error.rawPacket, error.bytesParsed) : undefined;
  if (!field) return reply(socket, "400 Bad Request");
  reply(socket, "400 Bad Request", { error: { code: "BAD_USER_INPUT", field, message: `The ${field} header contains a control character` } });
}
