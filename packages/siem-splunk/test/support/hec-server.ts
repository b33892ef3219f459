// A Splunk HTTP Event Collector look-alike for tests and the benchmark.
//
// It answers as Splunk documents HEC (Splunk's "Format events for HTTP Event
// Collector", "HTTP Event Collector REST API endpoints", "About HTTP Event
// Collector Indexer Acknowledgment" and the reply-code table): JSON answers
// {"text","code"} with their HTTP statuses, token checks (codes 1-4),
// concatenated event envelopes read in order and stopped at the first bad one
// (6, 12, 13, 7 with "invalid-event-number"), gzip request bodies,
// max_content_length (413), channels and indexer acknowledgement (ackId,
// /services/collector/ack, codes 10, 11, 14), and the health endpoints
// (17, 18-20, and 21/22 for a bad token on /health/1.0).
//
// Faults are injected per request from the test: any answer (status + code +
// Retry-After), a hang, a socket reset (each after indexing the events or
// not), or a delay; acknowledgements are scripted per ackId.
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import {
  createServer as createHttpServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { gunzipSync } from "node:zlib";

/** One event envelope as HEC parsed it. */
export interface HecEvent {
  readonly time?: unknown;
  readonly host?: unknown;
  readonly source?: unknown;
  readonly sourcetype?: unknown;
  readonly index?: unknown;
  readonly event?: unknown;
  readonly [key: string]: unknown;
}

/** How a token is set up in "Splunk". */
export interface TokenSettings {
  readonly disabled?: boolean;
  /** Indexer acknowledgement on for this token. */
  readonly ack?: boolean;
  /** Indexes the token may write to; any when absent. */
  readonly indexes?: readonly string[];
}

/** A fault the server injects into one request to an event endpoint. */
export type Fault =
  /** Answer this instead of indexing. */
  | {
      readonly kind: "answer";
      readonly status: number;
      readonly code?: number;
      readonly text?: string;
      readonly retryAfter?: string;
      /** A raw body instead of HEC's JSON (e.g. a proxy's HTML page). */
      readonly body?: string;
      readonly headers?: Readonly<Record<string, string>>;
    }
  /** Never answer; index the events first unless `index: false`. */
  | { readonly kind: "hang"; readonly index?: boolean }
  /** Destroy the connection instead of answering; index the events first unless `index: false`. */
  | { readonly kind: "reset"; readonly index?: boolean }
  /** Answer normally after `ms`. */
  | { readonly kind: "delay"; readonly ms: number };

/** What a test learns about one request. */
export interface ReceivedRequest {
  readonly seq: number;
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** `performance.now()` when the request's body was read. */
  readonly arrivedAt: number;
  /** The body as it came over the wire (gzip included). */
  raw: Buffer;
  /** The body after gzip. */
  body: string;
  events: HecEvent[];
  /** What the server did. */
  outcome: "indexed" | "refused" | "hung" | "reset" | "answered";
  status?: number;
  code?: number;
  /** Events of this request that were indexed. */
  indexedCount: number;
}

/** What happens to the batch behind one ackId. */
export interface AckPlan {
  /** Milliseconds until the ack reads true; `Infinity` for never. */
  readonly delayMs: number;
  /** The events were lost before indexing (they do not count as indexed). */
  readonly lost?: boolean;
}

export interface HecServerOptions {
  /** Valid tokens and their settings. @default { [DEFAULT_TOKEN]: {} } */
  readonly tokens?: Readonly<Record<string, TokenSettings>>;
  /** Serve HTTPS with this key and certificate (PEM). */
  readonly tls?: {
    readonly key: string | Buffer;
    readonly cert: string | Buffer;
    /** Require a client certificate signed by this CA (mutual TLS). */
    readonly clientCa?: string | Buffer;
  };
  /** HEC's max_content_length: a larger body (as received) gets 413. */
  readonly maxContentLength?: number;
  /** Keep every request and event for inspection. Off for the benchmark. @default true */
  readonly keep?: boolean;
  /** Decides a fault for a request to an event endpoint, after `script()`ed ones are used up. */
  readonly fault?: (request: ReceivedRequest) => Fault | undefined;
  /** Refuses one event (HEC stops reading the request there), e.g. `{ code: 6 }`. */
  readonly refuseEvent?: (event: HecEvent, position: number) => { code: number } | undefined;
  /** Scripts the acknowledgement of each ackId. @default immediate */
  readonly ack?: (ackId: number, request: ReceivedRequest) => AckPlan;
  /** What the health endpoints answer. @default 17 */
  readonly health?: () => 17 | 18 | 19 | 20;
  /** The key of an event for duplicate counting. @default event.event.event_id */
  readonly eventKey?: (event: HecEvent) => string;
}

/** The token the server accepts when no `tokens` are given. */
export const DEFAULT_TOKEN = "3c6e0b8a-9c0c-4b6e-8f4a-6f1b2a7d9e10";

const TEXT: Record<number, string> = {
  0: "Success",
  1: "Token disabled",
  2: "Token is required",
  3: "Invalid authorization",
  4: "Invalid token",
  5: "No data",
  6: "Invalid data format",
  7: "Incorrect index",
  8: "Internal server error",
  9: "Server is busy",
  10: "Data channel is missing",
  11: "Invalid data channel",
  12: "Event field is required",
  13: "Event field cannot be blank",
  14: "ACK is disabled",
  17: "HEC is healthy",
  18: "HEC is unhealthy, queues are full",
  19: "HEC is unhealthy, ack service unavailable",
  20: "HEC is unhealthy, queues are full, ack service unavailable",
  21: "Invalid token",
  22: "Token disabled",
};

const STATUS: Record<number, number> = {
  0: 200,
  1: 403,
  2: 401,
  3: 401,
  4: 403,
  5: 400,
  6: 400,
  7: 400,
  8: 500,
  9: 503,
  10: 400,
  11: 400,
  12: 400,
  13: 400,
  14: 400,
  17: 200,
  18: 503,
  19: 503,
  20: 503,
  21: 400,
  22: 400,
};

const EVENT_PATHS = new Set([
  "/services/collector",
  "/services/collector/event",
  "/services/collector/event/1.0",
]);
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Channel {
  nextAckId: number;
  readonly pending: Map<number, { readyAt: number; readonly lost: boolean }>;
}

/** Counters over the server's life (also served at GET /__test__/stats). */
export interface HecServerStats {
  /** Requests to the event endpoints. */
  readonly requests: number;
  /** Bytes of those requests' bodies as received. */
  readonly bytes: number;
  /** Events indexed, duplicates included. */
  readonly indexed: number;
  /** Distinct events indexed. */
  readonly distinct: number;
  /** Indexed events that were already indexed before. */
  readonly duplicates: number;
  /** Events in requests that got no answer (hang or reset). */
  readonly eventsInUnanswered: number;
  /** Requests to /services/collector/ack. */
  readonly ackPolls: number;
}

export class HecTestServer {
  readonly #options: HecServerOptions;
  readonly #tokens: Readonly<Record<string, TokenSettings>>;
  #server: Server;
  #port = 0;
  readonly #script: Fault[] = [];
  readonly #channels = new Map<string, Channel>();
  readonly #keep: boolean;
  /** Every request, any endpoint, in arrival order (when `keep`). */
  readonly requests: ReceivedRequest[] = [];
  /** Indexed events in order (when `keep`). */
  readonly indexed: HecEvent[] = [];
  /** How many times each event key was indexed. */
  readonly counts = new Map<string, number>();
  #seq = 0;
  #eventRequests = 0;
  #bytes = 0;
  #indexedTotal = 0;
  #duplicates = 0;
  #eventsInUnanswered = 0;
  #ackPolls = 0;
  /** Invariant checks that failed inside handlers (a test asserts it is empty). */
  readonly problems: string[] = [];

  private constructor(options: HecServerOptions) {
    this.#options = options;
    this.#tokens = options.tokens ?? { [DEFAULT_TOKEN]: {} };
    this.#keep = options.keep ?? true;
    this.#server = this.#createServer();
  }

  /** Starts a server on 127.0.0.1 on a free port. */
  static async start(options: HecServerOptions = {}): Promise<HecTestServer> {
    const server = new HecTestServer(options);
    await server.#listen(0);
    return server;
  }

  get port(): number {
    return this.#port;
  }

  /** `http(s)://127.0.0.1:<port>`, the exporter's `url`. */
  get url(): string {
    return `${this.#options.tls ? "https" : "http"}://127.0.0.1:${this.#port}`;
  }

  /** Requests to the event endpoints. */
  get eventRequests(): ReceivedRequest[] {
    return this.requests.filter((request) => EVENT_PATHS.has(request.path));
  }

  /** Faults for the next requests to the event endpoints, in order. */
  script(...faults: Fault[]): void {
    this.#script.push(...faults);
  }

  stats(): HecServerStats {
    return {
      requests: this.#eventRequests,
      bytes: this.#bytes,
      indexed: this.#indexedTotal,
      distinct: this.counts.size,
      duplicates: this.#duplicates,
      eventsInUnanswered: this.#eventsInUnanswered,
      ackPolls: this.#ackPolls,
    };
  }

  /** Makes every pending acknowledgement (of batches not lost) read true from now on. */
  releaseAcks(): void {
    const now = performance.now();
    for (const channel of this.#channels.values()) {
      for (const pending of channel.pending.values()) {
        if (!pending.lost) pending.readyAt = now;
      }
    }
  }

  /** Stops listening and drops every connection: the exporter sees "connection refused". */
  async stop(): Promise<void> {
    const closed = once(this.#server, "close");
    this.#server.close();
    this.#server.closeAllConnections();
    await closed;
  }

  /** Listens again on the same port after `stop()`. */
  async restart(): Promise<void> {
    this.#server = this.#createServer();
    await this.#listen(this.#port);
  }

  async close(): Promise<void> {
    if (this.#server.listening) await this.stop();
  }

  #createServer(): Server {
    const handler = (request: IncomingMessage, response: ServerResponse): void => {
      this.#handle(request, response).catch((error: unknown) => {
        this.problems.push(`handler failed: ${String(error)}`);
        response.destroy();
      });
    };
    const tls = this.#options.tls;
    const server = tls
      ? createHttpsServer(
          {
            key: tls.key,
            cert: tls.cert,
            ...(tls.clientCa
              ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true }
              : {}),
          },
          handler,
        )
      : createHttpServer(handler);
    server.keepAliveTimeout = 30_000;
    return server;
  }

  async #listen(port: number): Promise<void> {
    this.#server.listen(port, "127.0.0.1");
    await once(this.#server, "listening");
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<undefined> {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const received: ReceivedRequest = {
      seq: this.#seq++,
      method: request.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      headers: request.headers,
      arrivedAt: performance.now(),
      raw: this.#keep ? raw : Buffer.alloc(0),
      body: "",
      events: [],
      outcome: "answered",
      indexedCount: 0,
    };
    if (this.#keep) this.requests.push(received);

    if (url.pathname === "/__test__/stats") {
      return this.#json(response, received, 200, this.stats());
    }
    if (
      url.pathname === "/services/collector/health" ||
      url.pathname === "/services/collector/health/1.0"
    ) {
      return this.#health(request, response, received);
    }
    const auth = this.#authenticate(request);
    if (typeof auth === "number") return this.#answer(response, received, auth);
    if (url.pathname === "/services/collector/ack") {
      return this.#ackQuery(request, response, received, raw, url, auth);
    }
    if (!EVENT_PATHS.has(url.pathname)) {
      return this.#json(response, received, 404, {
        text: "The requested URL was not found on this server.",
        code: 404,
      });
    }
    if (request.method !== "POST") {
      return this.#json(response, received, 405, { text: "Method not allowed" });
    }
    return this.#events(request, response, received, raw, url, auth);
  }

  /** The token's settings, or the HEC code that refuses the request. */
  #authenticate(request: IncomingMessage): TokenSettings | number {
    const header = request.headers.authorization;
    if (header === undefined) return 2;
    const match = /^Splunk (\S+)$/.exec(header);
    if (!match) return 3;
    const settings = this.#tokens[match[1]!];
    if (settings === undefined) return 4;
    if (settings.disabled) return 1;
    return settings;
  }

  #health(
    request: IncomingMessage,
    response: ServerResponse,
    received: ReceivedRequest,
  ): undefined {
    if (request.headers.authorization !== undefined) {
      const auth = this.#authenticate(request);
      // /health/1.0 with a token answers 400 for a bad one (codes 21, 22).
      if (typeof auth === "number") return this.#answer(response, received, auth === 1 ? 22 : 21);
    }
    return this.#answer(response, received, this.#options.health?.() ?? 17);
  }

  #channelOf(request: IncomingMessage, url: URL): string | undefined {
    const header = request.headers["x-splunk-request-channel"];
    return (
      (typeof header === "string" ? header : undefined) ??
      url.searchParams.get("channel") ??
      undefined
    );
  }

  #events(
    request: IncomingMessage,
    response: ServerResponse,
    received: ReceivedRequest,
    raw: Buffer,
    url: URL,
    token: TokenSettings,
  ): undefined {
    this.#eventRequests++;
    this.#bytes += raw.length;
    let channel: Channel | undefined;
    if (token.ack) {
      const id = this.#channelOf(request, url);
      if (id === undefined) return this.#answer(response, received, 10);
      if (!GUID.test(id)) return this.#answer(response, received, 11);
      channel = this.#channels.get(id) ?? { nextAckId: 0, pending: new Map() };
      this.#channels.set(id, channel);
    }
    if (
      this.#options.maxContentLength !== undefined &&
      raw.length > this.#options.maxContentLength
    ) {
      return this.#json(response, received, 413, {
        text: `Content-Length of ${raw.length} too large (maximum is ${this.#options.maxContentLength})`,
        code: 413,
      });
    }
    let body: string;
    try {
      body = (request.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw).toString(
        "utf8",
      );
    } catch {
      return this.#answer(response, received, 6, { "invalid-event-number": 0 });
    }
    if (this.#keep) received.body = body;
    const split = splitEnvelopes(body);
    const events: HecEvent[] = [];
    let refusal: { code: number; position: number } | undefined;
    for (const [position, text] of split.objects.entries()) {
      let event: HecEvent;
      try {
        event = JSON.parse(text) as HecEvent;
      } catch {
        refusal = { code: 6, position };
        break;
      }
      if (typeof event !== "object" || event === null || Array.isArray(event)) {
        refusal = { code: 6, position };
        break;
      }
      if (!("event" in event) || event.event === null) {
        refusal = { code: 12, position };
        break;
      }
      if (event.event === "") {
        refusal = { code: 13, position };
        break;
      }
      if (
        token.indexes &&
        typeof event.index === "string" &&
        !token.indexes.includes(event.index)
      ) {
        refusal = { code: 7, position };
        break;
      }
      const refused = this.#options.refuseEvent?.(event, position);
      if (refused) {
        refusal = { code: refused.code, position };
        break;
      }
      events.push(event);
    }
    if (refusal === undefined && split.error !== undefined)
      refusal = { code: 6, position: split.objects.length };
    if (this.#keep) received.events = events;
    if (refusal === undefined && events.length === 0) return this.#answer(response, received, 5);

    const fault = this.#script.shift() ?? (refusal ? undefined : this.#options.fault?.(received));
    if (fault?.kind === "answer") {
      received.outcome = "refused";
      if (fault.body !== undefined) {
        received.status = fault.status;
        response.writeHead(fault.status, { "content-type": "text/html", ...fault.headers });
        response.end(fault.body);
        return;
      }
      const code = fault.code;
      return this.#json(
        response,
        received,
        fault.status,
        code === undefined
          ? { text: fault.text ?? "Error" }
          : { text: fault.text ?? TEXT[code] ?? "Error", code },
        {
          ...(fault.retryAfter === undefined ? {} : { "retry-after": fault.retryAfter }),
          ...fault.headers,
        },
      );
    }
    if (fault?.kind === "hang" || fault?.kind === "reset") {
      this.#eventsInUnanswered += events.length;
      if (fault.index !== false) this.#index(received, events);
      received.outcome = fault.kind === "hang" ? "hung" : "reset";
      if (fault.kind === "reset") request.socket.destroy();
      return; // a hang: the client gives up and closes the socket
    }
    // Events before a refused one are indexed, as HEC does.
    let ackId: number | undefined;
    let lost = false;
    if (channel && refusal === undefined) {
      ackId = channel.nextAckId++;
      const plan = this.#options.ack?.(ackId, received) ?? { delayMs: 0 };
      lost = plan.lost === true;
      channel.pending.set(ackId, {
        readyAt: lost ? Number.POSITIVE_INFINITY : performance.now() + plan.delayMs,
        lost,
      });
    }
    if (!lost) this.#index(received, events);
    const answer = () => {
      if (refusal !== undefined) {
        received.outcome = "refused";
        return this.#answer(response, received, refusal.code, {
          "invalid-event-number": refusal.position,
        });
      }
      received.outcome = "indexed";
      return this.#answer(response, received, 0, ackId === undefined ? {} : { ackId });
    };
    if (fault?.kind === "delay") setTimeout(answer, fault.ms);
    else answer();
  }

  #index(received: ReceivedRequest, events: readonly HecEvent[]): void {
    for (const event of events) {
      const key = this.#options.eventKey?.(event) ?? eventId(event);
      const seen = this.counts.get(key) ?? 0;
      if (seen > 0) this.#duplicates++;
      this.counts.set(key, seen + 1);
      this.#indexedTotal++;
      if (this.#keep) this.indexed.push(event);
    }
    received.indexedCount += events.length;
  }

  #ackQuery(
    request: IncomingMessage,
    response: ServerResponse,
    received: ReceivedRequest,
    raw: Buffer,
    url: URL,
    token: TokenSettings,
  ): undefined {
    this.#ackPolls++;
    if (!token.ack) return this.#answer(response, received, 14);
    const id = this.#channelOf(request, url);
    if (id === undefined) return this.#answer(response, received, 10);
    if (!GUID.test(id)) return this.#answer(response, received, 11);
    let ids: unknown;
    try {
      ids = (JSON.parse(raw.length > 0 ? raw.toString("utf8") : "{}") as { acks?: unknown }).acks;
    } catch {
      return this.#answer(response, received, 6);
    }
    if (!Array.isArray(ids)) return this.#answer(response, received, 6);
    const channel = this.#channels.get(id);
    const now = performance.now();
    const acks: Record<string, boolean> = {};
    for (const ackId of ids) {
      const pending = channel?.pending.get(Number(ackId));
      const ready = pending !== undefined && pending.readyAt <= now;
      // Splunk forgets an ack once it has reported it true.
      if (ready) channel?.pending.delete(Number(ackId));
      acks[String(ackId)] = ready;
    }
    return this.#json(response, received, 200, { acks });
  }

  #answer(
    response: ServerResponse,
    received: ReceivedRequest,
    code: number,
    extra: Record<string, unknown> = {},
  ): undefined {
    received.code = code;
    return this.#json(response, received, STATUS[code] ?? 400, {
      text: TEXT[code] ?? "Error",
      code,
      ...extra,
    });
  }

  #json(
    response: ServerResponse,
    received: ReceivedRequest,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): undefined {
    received.status = status;
    const text = JSON.stringify(body);
    response.writeHead(status, {
      "content-type": "application/json; charset=UTF-8",
      "content-length": Buffer.byteLength(text),
      ...headers,
    });
    response.end(text);
    return undefined;
  }
}

function eventId(event: HecEvent): string {
  const inner = event.event as { event_id?: unknown } | undefined;
  return typeof inner === "object" && inner !== null && typeof inner.event_id === "string"
    ? inner.event_id
    : JSON.stringify(event.event);
}

/**
 * Cuts HEC's request body into its JSON objects: objects back to back, with
 * optional whitespace between them, strings respected.
 */
export function splitEnvelopes(body: string): { objects: string[]; error?: number } {
  const objects: string[] = [];
  let i = 0;
  const n = body.length;
  while (i < n) {
    const c = body.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
      i++;
      continue;
    }
    if (c !== 0x7b) return { objects, error: i };
    const start = i;
    let depth = 0;
    let inString = false;
    for (; i < n; i++) {
      const d = body.charCodeAt(i);
      if (inString) {
        if (d === 0x5c) i++;
        else if (d === 0x22) inString = false;
      } else if (d === 0x22) inString = true;
      else if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
      }
    }
    if (depth !== 0) return { objects, error: start };
    objects.push(body.slice(start, i));
  }
  return { objects };
}

/** A fresh GUID, e.g. for a channel in a test. */
export const newChannel = (): string => randomUUID();
