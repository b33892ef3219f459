// A Datadog Logs intake v2 for tests and benchmarks: it speaks the API as
// "Send logs" documents it (https://docs.datadoghq.com/api/latest/logs/send-logs/),
// enforces its limits, and injects faults on request. It also answers
// "Validate API key" (GET /api/v1/validate), which Datadog serves on api.<site>.
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { gunzipSync, inflateSync } from "node:zlib";

export interface IntakeServerOptions {
  /** API keys the server accepts; any other gets 403, none gets 401. */
  readonly apiKeys?: readonly string[];
  /** Largest body after decompression; above it, 413. @default 5_000_000 */
  readonly maxPayloadBytes?: number;
  /** Most entries in one array; above it, 400. @default 1000 */
  readonly maxEntries?: number;
  /** Largest entry; above it Datadog truncates and still answers 2xx: counted in `truncated`. @default 1_000_000 */
  readonly maxEntryBytes?: number;
  /** Keep every request and entry in memory (tests) or only count them (benchmarks). @default true */
  readonly keepEntries?: boolean;
  /** Decides a fault for the n-th request (0-based) after any scripted ones; undefined to process it. */
  readonly faults?: (request: number) => Fault | undefined;
  /** Serve HTTPS with this key and certificate. */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
}

/** A scripted answer to one request, used instead of the normal processing. */
export type Fault =
  | { readonly status: number; readonly headers?: Record<string, string>; readonly body?: string }
  /** Read the request and never answer it. */
  | { readonly hang: true }
  /** Read the request and destroy the connection. */
  | { readonly reset: true };

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage["headers"];
  /** Body bytes as received (compressed when it was). */
  readonly wireBytes: number;
  /** Body bytes after decompression. */
  readonly payloadBytes: number;
  /** The body after decompression, as text (empty for scripted faults). */
  readonly body: string;
  /** The status the server answered (0 for a hang or reset). */
  readonly status: number;
  /** The entries of an accepted request. */
  readonly entries: readonly Record<string, unknown>[];
  /** Milliseconds since the server started. */
  readonly at: number;
}

export interface IntakeCounters {
  readonly requests: number;
  /** Requests answered 202. */
  readonly accepted: number;
  /** Body bytes as received, over every request. */
  readonly bytes: number;
  /** Entries in accepted requests, duplicates included. */
  readonly entries: number;
  /** Distinct `event_id`s accepted (read from the entry, or from its JSON `message`). */
  readonly uniqueIds: number;
  readonly duplicates: number;
  readonly truncated: number;
  readonly statuses: Readonly<Record<string, number>>;
}

export interface IntakeServer {
  /** `http://127.0.0.1:<port>`: the value for the exporter's `url`. */
  readonly url: string;
  readonly port: number;
  readonly requests: readonly ReceivedRequest[];
  /** Every entry of every accepted request, in arrival order. */
  readonly entries: readonly Record<string, unknown>[];
  /** Distinct event ids accepted. */
  readonly eventIds: ReadonlySet<string>;
  counters(): IntakeCounters;
  /** Answers the next requests with these faults, one each, in order. */
  fail(...faults: Fault[]): void;
  /** While on, every request gets this fault (an outage). */
  setOutage(fault: Fault | undefined): void;
  close(): Promise<void>;
}

export const TEST_API_KEY = "0123456789abcdef0123456789abcdef";

export async function startIntakeServer(options: IntakeServerOptions = {}): Promise<IntakeServer> {
  const apiKeys = new Set(options.apiKeys ?? [TEST_API_KEY]);
  const maxPayloadBytes = options.maxPayloadBytes ?? 5_000_000;
  const maxEntries = options.maxEntries ?? 1000;
  const maxEntryBytes = options.maxEntryBytes ?? 1_000_000;
  const keep = options.keepEntries ?? true;
  const started = Date.now();

  const requests: ReceivedRequest[] = [];
  const entries: Record<string, unknown>[] = [];
  const eventIds = new Set<string>();
  const scripted: Fault[] = [];
  let outage: Fault | undefined;
  const counts = { requests: 0, accepted: 0, bytes: 0, entries: 0, duplicates: 0, truncated: 0 };
  const statuses: Record<string, number> = {};
  const hanging = new Set<ServerResponse>();

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const path = request.url ?? "/";

    if (request.method === "GET" && path === "/_intake/counters") {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify(counters()));
      return;
    }

    counts.requests++;
    counts.bytes += raw.length;
    let text = "";
    const record = (status: number, payloadBytes = 0, accepted: Record<string, unknown>[] = []) => {
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (keep) {
        requests.push({
          method: request.method ?? "",
          path,
          headers: request.headers,
          wireBytes: raw.length,
          payloadBytes,
          body: text,
          status,
          entries: accepted,
          at: Date.now() - started,
        });
      }
    };
    const answer = (status: number, body: unknown, payloadBytes = 0) => {
      record(status, payloadBytes);
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };

    const fault = scripted.shift() ?? outage ?? options.faults?.(counts.requests - 1);
    if (fault !== undefined) {
      if ("hang" in fault) {
        record(0);
        hanging.add(response);
        return;
      }
      if ("reset" in fault) {
        record(0);
        request.socket.destroy();
        return;
      }
      record(fault.status);
      response.writeHead(fault.status, { "content-type": "application/json", ...fault.headers });
      response.end(fault.body ?? JSON.stringify({ errors: [`scripted ${fault.status}`] }));
      return;
    }

    if (request.method === "GET" && path.split("?")[0] === "/api/v1/validate") {
      // "Validate API key": 200 {"valid":true}, or 403 for a key it does not know.
      const key = request.headers["dd-api-key"];
      if (typeof key === "string" && apiKeys.has(key)) answer(200, { valid: true });
      else answer(403, { errors: ["Forbidden"] });
      return;
    }
    if (request.method !== "POST" || path.split("?")[0] !== "/api/v2/logs") {
      answer(404, { errors: ["Not found"] });
      return;
    }
    const key = request.headers["dd-api-key"];
    if (key === undefined || key === "") {
      answer(401, { errors: ["Unauthorized"] });
      return;
    }
    if (typeof key !== "string" || !apiKeys.has(key)) {
      answer(403, { errors: ["Forbidden"] });
      return;
    }
    let payload: Buffer;
    try {
      payload = decode(raw, request.headers["content-encoding"], maxPayloadBytes);
    } catch (error) {
      if (error instanceof RangeError) answer(413, { errors: ["Payload too large"] });
      else answer(400, { errors: ["Bad content encoding"] });
      return;
    }
    if (payload.length > maxPayloadBytes) {
      answer(413, { errors: ["Payload too large"] }, payload.length);
      return;
    }
    text = payload.toString("utf8");
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      answer(400, { errors: ["Malformed JSON"] }, payload.length);
      return;
    }
    const batch = Array.isArray(parsed) ? parsed : [parsed];
    if (batch.length > maxEntries) {
      answer(400, { errors: [`More than ${maxEntries} entries`] }, payload.length);
      return;
    }
    if (
      !batch.every((entry) => typeof entry === "object" && entry !== null && !Array.isArray(entry))
    ) {
      answer(400, { errors: ["Entries must be objects"] }, payload.length);
      return;
    }
    const accepted = batch as Record<string, unknown>[];
    const mayHaveLargeEntry = payload.length > maxEntryBytes;
    for (const entry of accepted) {
      if (mayHaveLargeEntry && Buffer.byteLength(JSON.stringify(entry)) > maxEntryBytes) {
        counts.truncated++;
      }
      const id = eventId(entry);
      if (id !== undefined) {
        if (eventIds.has(id)) counts.duplicates++;
        else eventIds.add(id);
      }
      if (keep) entries.push(entry);
    }
    counts.accepted++;
    counts.entries += accepted.length;
    record(202, payload.length, keep ? accepted : []);
    response.writeHead(202, { "content-type": "application/json" });
    response.end("{}");
  };

  const listener = (request: IncomingMessage, response: ServerResponse) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  };
  const server = options.tls
    ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, listener)
    : createHttpServer(listener);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  function counters(): IntakeCounters {
    return { ...counts, uniqueIds: eventIds.size, statuses: { ...statuses } };
  }

  return {
    url: `${options.tls ? "https" : "http"}://127.0.0.1:${port}`,
    port,
    requests,
    entries,
    eventIds,
    counters,
    fail: (...faults) => {
      scripted.push(...faults);
    },
    setOutage: (fault) => {
      outage = fault;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of hanging) response.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function decode(raw: Buffer, encoding: string | undefined, maxPayloadBytes: number): Buffer {
  // One byte over the limit is enough to answer 413; a zip bomb stops there.
  const limit = { maxOutputLength: maxPayloadBytes + 1 };
  switch ((encoding ?? "identity").toLowerCase()) {
    case "identity":
      return raw;
    case "gzip":
      return gunzipSync(raw, limit);
    case "deflate":
      return inflateSync(raw, limit);
    default:
      throw new TypeError(`unsupported content-encoding ${encoding}`);
  }
}

function eventId(entry: Record<string, unknown>): string | undefined {
  if (typeof entry.event_id === "string") return entry.event_id;
  if (typeof entry.message === "string" && entry.message.startsWith("{")) {
    try {
      const message = JSON.parse(entry.message) as Record<string, unknown>;
      if (typeof message.event_id === "string") return message.event_id;
    } catch {
      // Not JSON: no id.
    }
  }
  return undefined;
}
