import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { z } from "zod";
import { eventContent } from "../eventstore/hash-chain.js";
import type { RecordedEvent } from "../eventstore/types.js";
import type { Checkpoint } from "./checkpoints.js";

// The export format: one JSON object per line. 64-bit positions travel as strings and times as ISO
// strings with milliseconds, so a parsed line gives back exactly the event the chain hash covers.

export class NdjsonFormatError extends Error {
  override name = "NdjsonFormatError";
}

const position = z.string().regex(/^(0|[1-9]\d*)$/, "must be a whole number as a string");
const isoInstant = z
  .string()
  .refine((value) => !Number.isNaN(Date.parse(value)) && new Date(value).toISOString() === value, "must be an ISO instant (toISOString)");
const jsonObject = z.record(z.string(), z.unknown());

const eventLine = z.strictObject({
  position,
  eventId: z.string(),
  streamId: z.string(),
  streamVersion: z.number().int().nullable(),
  type: z.string(),
  schemaVersion: z.number().int(),
  data: jsonObject,
  metadata: jsonObject,
  occurredAt: isoInstant,
  hash: z.string(),
});

const checkpointLine = z.strictObject({
  position,
  headHash: z.string(),
  signedAt: isoInstant,
  kid: z.string(),
  jws: z.string(),
});

export function eventToNdjson(event: RecordedEvent): string {
  return JSON.stringify({ ...eventContent(event), hash: event.hash }) + "\n";
}

export function checkpointToNdjson(checkpoint: Checkpoint): string {
  return (
    JSON.stringify({
      position: checkpoint.position.toString(),
      headHash: checkpoint.headHash,
      signedAt: checkpoint.signedAt.toISOString(),
      kid: checkpoint.kid,
      jws: checkpoint.jws,
    }) + "\n"
  );
}

export function parseEventLine(line: string): RecordedEvent {
  const e = parseLine(eventLine, line);
  return { ...e, position: BigInt(e.position), occurredAt: new Date(e.occurredAt) };
}

export function parseCheckpointLine(line: string): Checkpoint {
  const c = parseLine(checkpointLine, line);
  return { ...c, position: BigInt(c.position), signedAt: new Date(c.signedAt) };
}

function parseLine<T>(schema: z.ZodType<T>, line: string): T {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    throw new NdjsonFormatError("not valid JSON");
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    throw new NdjsonFormatError(result.error.issues.map((i) => `${i.path.join(".") || "line"}: ${i.message}`).join("; "));
  }
  return result.data;
}

/** The events of an NDJSON export, streamed line by line: memory stays flat however long the file. */
export function readLogFromNdjson(path: string): AsyncGenerator<RecordedEvent> {
  return readNdjson(path, parseEventLine);
}

export function readCheckpointsFromNdjson(path: string): AsyncGenerator<Checkpoint> {
  return readNdjson(path, parseCheckpointLine);
}

async function* readNdjson<T>(path: string, parse: (line: string) => T): AsyncGenerator<T> {
  const lines = createInterface({ input: createReadStream(path, { encoding: "utf8" }), crlfDelay: Infinity });
  let lineNumber = 0;
  try {
    for await (const line of lines) {
      lineNumber++;
      if (line.trim() === "") continue;
      let parsed: T;
      try {
        parsed = parse(line);
      } catch (error) {
        if (error instanceof NdjsonFormatError) throw new NdjsonFormatError(`${path}:${lineNumber}: ${error.message}`);
        throw error;
      }
      yield parsed;
    }
  } finally {
    lines.close();
  }
}
