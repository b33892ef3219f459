// Decodes an OTLP/HTTP logs request (protobuf or JSON) into one plain shape,
// so that tests assert on what a receiver sees whatever the encoding.
import { ExportLogsServiceRequest } from "./otlp-proto.js";

/** An OTLP AnyValue with its type kept: `{ int: "2" }` is not `{ double: 2 }`. */
export type Value =
  | { string: string }
  | { bool: boolean }
  | { int: string }
  | { double: number }
  | { array: Value[] }
  | { kvlist: Record<string, Value> }
  | { bytes: string }
  | { empty: true };

export interface DecodedLogRecord {
  /** Nanoseconds since the epoch, as a decimal string (exact). */
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  body: Value | undefined;
  attributes: Record<string, Value>;
  /** Keys in the order they were on the wire. */
  attributeKeys: string[];
  droppedAttributesCount: number;
  flags: number;
  /** Lowercase hex, "" when absent. */
  traceId: string;
  spanId: string;
  eventName: string;
  resource: Record<string, Value>;
  scope: { name: string; version: string };
}

type Obj = Record<string, unknown>;

/** Decodes a request body (already gunzipped) of the given content type. */
export function decodeLogsRequest(body: Buffer, contentType: string): DecodedLogRecord[] {
  if (contentType.includes("json")) {
    return normalize(JSON.parse(body.toString("utf8")) as Obj, "json");
  }
  if (contentType.includes("protobuf")) {
    const message = ExportLogsServiceRequest.decode(body);
    const object = ExportLogsServiceRequest.toObject(message, {
      longs: String,
      bytes: String,
      enums: Number,
      defaults: false,
      oneofs: false,
    }) as Obj;
    return normalize(object, "protobuf");
  }
  throw new Error(`unsupported content type ${contentType}`);
}

function normalize(request: Obj, encoding: "json" | "protobuf"): DecodedLogRecord[] {
  const out: DecodedLogRecord[] = [];
  for (const resourceLogs of (request.resourceLogs as Obj[] | undefined) ?? []) {
    const resource = keyValues(
      ((resourceLogs.resource as Obj)?.attributes as Obj[]) ?? [],
      encoding,
    );
    for (const scopeLogs of (resourceLogs.scopeLogs as Obj[] | undefined) ?? []) {
      const scope = (scopeLogs.scope as Obj | undefined) ?? {};
      for (const record of (scopeLogs.logRecords as Obj[] | undefined) ?? []) {
        const attributes = (record.attributes as Obj[] | undefined) ?? [];
        out.push({
          timeUnixNano: String(record.timeUnixNano ?? "0"),
          observedTimeUnixNano: String(record.observedTimeUnixNano ?? "0"),
          severityNumber: Number(record.severityNumber ?? 0),
          severityText: String(record.severityText ?? ""),
          body: record.body === undefined ? undefined : value(record.body as Obj, encoding),
          attributes: keyValues(attributes, encoding),
          attributeKeys: attributes.map((kv) => String(kv.key)),
          droppedAttributesCount: Number(record.droppedAttributesCount ?? 0),
          flags: Number(record.flags ?? 0),
          traceId: id(record.traceId, encoding),
          spanId: id(record.spanId, encoding),
          eventName: String(record.eventName ?? ""),
          resource,
          scope: { name: String(scope.name ?? ""), version: String(scope.version ?? "") },
        });
      }
    }
  }
  return out;
}

/** OTLP/JSON carries ids as hex; protobufjs gives bytes as base64. */
function id(raw: unknown, encoding: "json" | "protobuf"): string {
  if (raw === undefined || raw === null || raw === "") return "";
  const text = String(raw);
  return encoding === "json" ? text.toLowerCase() : Buffer.from(text, "base64").toString("hex");
}

function keyValues(list: Obj[], encoding: "json" | "protobuf"): Record<string, Value> {
  const result: Record<string, Value> = {};
  for (const kv of list) result[String(kv.key)] = value((kv.value as Obj) ?? {}, encoding);
  return result;
}

function value(any: Obj, encoding: "json" | "protobuf"): Value {
  if ("stringValue" in any) return { string: String(any.stringValue) };
  if ("boolValue" in any) return { bool: Boolean(any.boolValue) };
  if ("intValue" in any) return { int: int64(any.intValue) };
  if ("doubleValue" in any) return { double: Number(any.doubleValue) };
  if ("arrayValue" in any) {
    const values = ((any.arrayValue as Obj)?.values as Obj[] | undefined) ?? [];
    return { array: values.map((item) => value(item, encoding)) };
  }
  if ("kvlistValue" in any) {
    return { kvlist: keyValues(((any.kvlistValue as Obj)?.values as Obj[]) ?? [], encoding) };
  }
  if ("bytesValue" in any) {
    return { bytes: Buffer.from(String(any.bytesValue), "base64").toString("hex") };
  }
  return { empty: true };
}

/**
 * An int64 as a receiver parses it: protobufjs gives a decimal string; OTLP/JSON
 * allows a number or a decimal string, and a receiver refuses anything else
 * (`1e+300`, a number beyond int64). A JSON number is read as the double it
 * denotes (beyond 2^53 its shortest text and its exact value differ), so that
 * both encodings of one JS number decode alike.
 */
function int64(raw: unknown): string {
  let value: bigint;
  if (typeof raw === "number") {
    if (!Number.isInteger(raw)) throw new Error(`invalid int64 ${raw}`);
    value = BigInt(raw);
  } else {
    const text = String(raw);
    if (!/^-?\d+$/.test(text)) throw new Error(`invalid int64 ${text}`);
    value = BigInt(text);
  }
  if (value < -(2n ** 63n) || value >= 2n ** 63n) throw new Error(`int64 out of range: ${value}`);
  return value.toString();
}

/** A typed Value back to the JSON value it stands for (ints as numbers). */
export function plain(v: Value | undefined): unknown {
  if (v === undefined) return undefined;
  if ("string" in v) return v.string;
  if ("bool" in v) return v.bool;
  if ("int" in v) return Number(v.int);
  if ("double" in v) return v.double;
  if ("array" in v) return v.array.map(plain);
  if ("kvlist" in v) {
    return Object.fromEntries(Object.entries(v.kvlist).map(([k, item]) => [k, plain(item)]));
  }
  if ("bytes" in v) return v.bytes;
  return null;
}

/** Counts the LogRecords of an OTLP/JSON request without normalising them. */
export function countJsonLogRecords(body: Buffer): number {
  const request = JSON.parse(body.toString("utf8")) as {
    resourceLogs?: { scopeLogs?: { logRecords?: unknown[] }[] }[];
  };
  let count = 0;
  for (const resourceLogs of request.resourceLogs ?? []) {
    for (const scopeLogs of resourceLogs.scopeLogs ?? [])
      count += scopeLogs.logRecords?.length ?? 0;
  }
  return count;
}

/**
 * Counts the LogRecords of a protobuf request without decoding them: walks
 * ExportLogsServiceRequest.resource_logs(1) → ResourceLogs.scope_logs(2) →
 * ScopeLogs.log_records(2). Cheap enough for the benchmark's server.
 */
export function countProtobufLogRecords(body: Uint8Array): number {
  let count = 0;
  for (const resourceLogs of fields(body, 0, body.length, 1)) {
    for (const scopeLogs of fields(body, resourceLogs[0], resourceLogs[1], 2)) {
      count += fields(body, scopeLogs[0], scopeLogs[1], 2).length;
    }
  }
  return count;
}

/** [start, end) of each length-delimited field `wanted` of the message in body[start, end). */
function fields(body: Uint8Array, start: number, end: number, wanted: number): [number, number][] {
  const found: [number, number][] = [];
  let pos = start;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = body[pos++]!;
      result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return result;
      shift += 7;
    }
  };
  while (pos < end) {
    const tag = varint();
    const wireType = tag & 7;
    if (wireType === 0) varint();
    else if (wireType === 1) pos += 8;
    else if (wireType === 5) pos += 4;
    else if (wireType === 2) {
      const length = varint();
      if (tag >>> 3 === wanted) found.push([pos, pos + length]);
      pos += length;
    } else throw new Error(`unexpected wire type ${wireType}`);
  }
  return found;
}
