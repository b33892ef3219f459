import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { readTextUpTo, redact, type TlsOptions, tlsConnectOptions } from "@a1/siem-core";
import { Agent, type Dispatcher } from "undici";
import { USER_AGENT } from "./version.js";

/** The fields of a HEC JSON answer this package reads. */
export interface HecJson {
  readonly text?: string;
  readonly code?: number;
  readonly ackId?: number;
  readonly invalidEventNumber?: number;
  readonly acks?: Readonly<Record<string, unknown>>;
}

/** One HTTP answer from HEC, its JSON read when there is some. */
export interface HecAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Splunk's answer text with the token removed (a proxy may echo headers). */
  readonly text: string;
  readonly json: HecJson | undefined;
}

export interface HecClientOptions {
  readonly origin: string;
  readonly basePath: string;
  readonly token: string;
  readonly tls: TlsOptions | undefined;
  readonly dispatcher: Dispatcher | undefined;
  /** Send `X-Splunk-Request-Channel` (indexer acknowledgement needs one). */
  readonly channel: boolean;
}

/**
 * The HTTP side of the exporter: one undici dispatcher, the request headers,
 * and the token. The token lives in private fields only, so that neither
 * `util.inspect` of the exporter nor an error's cause chain can show it.
 */
export class HecClient {
  readonly origin: string;
  readonly basePath: string;
  /** The channel GUID when acknowledgement is on. */
  readonly channel: string | undefined;
  readonly #token: string;
  readonly #tls: TlsOptions | undefined;
  readonly #injected: Dispatcher | undefined;
  #agent: Agent | undefined;
  #closed = false;
  readonly #jsonHeaders: Record<string, string>;
  readonly #gzipHeaders: Record<string, string>;
  readonly #getHeaders: Record<string, string>;

  constructor(options: HecClientOptions) {
    this.origin = options.origin;
    this.basePath = options.basePath;
    this.#token = options.token;
    this.#tls = options.tls;
    this.#injected = options.dispatcher;
    this.channel = options.channel ? randomUUID() : undefined;
    const common: Record<string, string> = {
      authorization: `Splunk ${options.token}`,
      "user-agent": USER_AGENT,
    };
    if (this.channel !== undefined) common["x-splunk-request-channel"] = this.channel;
    // Built once: every batch reuses the same header objects.
    this.#getHeaders = common;
    this.#jsonHeaders = { ...common, "content-type": "application/json" };
    this.#gzipHeaders = { ...this.#jsonHeaders, "content-encoding": "gzip" };
  }

  /** Where HEC is, for messages: origin and path prefix, never the token. */
  get where(): string {
    return this.origin + this.basePath;
  }

  /** Sends one request and reads the answer (at most 64 KiB of it). */
  async request(
    method: "GET" | "POST",
    path: string,
    body: string | Buffer | undefined,
    options: { readonly gzip?: boolean; readonly signal?: AbortSignal } = {},
  ): Promise<HecAnswer> {
    const response = await this.#dispatcher().request({
      origin: this.origin,
      path: this.basePath + path,
      method,
      headers:
        method === "GET" ? this.#getHeaders : options.gzip ? this.#gzipHeaders : this.#jsonHeaders,
      body: body ?? null,
      signal: options.signal ?? null,
    });
    const text = this.redact(await readTextUpTo(response.body));
    return {
      status: response.statusCode,
      headers: response.headers,
      text,
      json: parseHecJson(text),
    };
  }

  /** `text` with every occurrence of the token replaced by `[REDACTED]`. */
  redact(text: string): string {
    return text.includes(this.#token) ? redact(text, [this.#token]) : text;
  }

  /** Closes the client's own agent; an injected dispatcher belongs to the caller. */
  async close(): Promise<void> {
    this.#closed = true;
    const agent = this.#agent;
    this.#agent = undefined;
    await agent?.close();
  }

  #dispatcher(): Dispatcher {
    if (this.#injected) return this.#injected;
    if (this.#closed) throw new Error("the exporter is closed");
    // Made on first use: a constructor that throws later leaves nothing open.
    this.#agent ??= new Agent(this.#tls ? { connect: tlsConnectOptions(this.#tls) } : {});
    return this.#agent;
  }
}

/** Reads HEC's JSON answer; undefined when the body is not a JSON object (e.g. a proxy's page). */
export function parseHecJson(text: string): HecJson | undefined {
  if (!text.startsWith("{")) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const raw = parsed as Record<string, unknown>;
  const json: {
    text?: string;
    code?: number;
    ackId?: number;
    invalidEventNumber?: number;
    acks?: Record<string, unknown>;
  } = {};
  if (typeof raw.text === "string") json.text = raw.text;
  const code = toInteger(raw.code);
  if (code !== undefined) json.code = code;
  const ackId = toInteger(raw.ackId);
  if (ackId !== undefined) json.ackId = ackId;
  const invalid = toInteger(raw["invalid-event-number"]);
  if (invalid !== undefined) json.invalidEventNumber = invalid;
  if (typeof raw.acks === "object" && raw.acks !== null && !Array.isArray(raw.acks)) {
    json.acks = raw.acks as Record<string, unknown>;
  }
  return json;
}

function toInteger(value: unknown): number | undefined {
  const number = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  return typeof number === "number" && Number.isSafeInteger(number) ? number : undefined;
}
