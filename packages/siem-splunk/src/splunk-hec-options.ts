import type { NetworkExporterOptions, TlsOptions } from "@a1/siem-core";
import type { Dispatcher } from "undici";

/** Indexer acknowledgement settings (Splunk Enterprise; see the README). */
export interface SplunkAckOptions {
  /**
   * How often to ask `/services/collector/ack` about the batches waiting for
   * their acknowledgement. One request covers every waiting batch.
   * @default 1000
   */
  readonly pollIntervalMs?: number;
  /**
   * How long a batch may wait for its acknowledgement before it is sent again
   * (Splunk may then index it twice: see `stats().resentUnacknowledged`).
   * Acknowledgements can take minutes on a loaded indexer.
   * @default 300000
   */
  readonly timeoutMs?: number;
  /**
   * How many times a batch is sent again because its acknowledgement never
   * came within `timeoutMs`. When an acknowledgement is missing once more
   * after that, the batch's records are reported failed with reason
   * `"rejected"` (the message says Splunk never acknowledged them): they may
   * or may not be indexed. This bounds how long `close()` waits on a Splunk
   * that takes events but never acknowledges them, to about
   * `(maxResends + 1) × timeoutMs`. `0` never resends for a missing acknowledgement.
   * @default 2
   */
  readonly maxResends?: number;
}

/** Options of `SplunkHecExporter`. */
export interface SplunkHecExporterOptions extends NetworkExporterOptions {
  /**
   * Base URL of the HTTP Event Collector, e.g. `https://splunk.example.com:8088`
   * (a path prefix of a proxy is kept). Events go to `url + "/services/collector/event"`;
   * a URL that already ends in `/services/collector…` is cut back to its base.
   */
  readonly url: string;
  /** The HEC token. Falls back to the `SPLUNK_HEC_TOKEN` environment variable. */
  readonly token?: string;
  /** Splunk index of every event; the token's default index when absent. */
  readonly index?: string;
  /** Splunk `source` of every event. @default "a1" */
  readonly source?: string;
  /** Splunk `sourcetype` of every event. @default "_json" */
  readonly sourcetype?: string;
  /** Splunk `host` of every event; sent only when set (Splunk then uses the sender's address). */
  readonly host?: string;
  /**
   * Indexer acknowledgement: count a record delivered only once Splunk says it
   * is indexed. `true` for the defaults. The token must have "Enable indexer
   * acknowledgement" on. Splunk Cloud offers it only to Kinesis Firehose.
   * @default false
   */
  readonly ack?: boolean | SplunkAckOptions;
  /**
   * An undici dispatcher (e.g. a `ProxyAgent`) to send through instead of the
   * exporter's own `Agent`. The exporter never closes it. Configure TLS on the
   * dispatcher: `tls` and `dispatcher` together are refused.
   */
  readonly dispatcher?: Dispatcher;
}

/** The defaults of `SplunkHecExporter` where they differ from the engine's. */
export const SPLUNK_DEFAULTS = {
  /** Records per request; below `maxBatchBytes` for A1 records of ~700 bytes, so bytes usually decide. */
  batchSize: 1000,
  /**
   * 1,000,000 bytes (before compression): under HEC's `max_content_length`
   * of Splunk Enterprise (800 MB since 6.5, 1 MB before) and under the 1 MB
   * reported for some Splunk Cloud stacks; Vector's default for HEC too.
   * Larger bodies save little CPU and make each retry costlier.
   */
  maxBatchBytes: 1_000_000,
  source: "a1",
  sourcetype: "_json",
  compression: "none",
  /** With acknowledgement, batches stay in flight until indexed, so more may wait at once. */
  ackConcurrency: 8,
  ack: { pollIntervalMs: 1000, timeoutMs: 300_000, maxResends: 2 },
} as const;

/** What the exporter needs after checking the user's options. */
export interface ResolvedSplunkOptions {
  readonly origin: string;
  readonly basePath: string;
  readonly token: string;
  readonly index: string | undefined;
  readonly source: string;
  readonly sourcetype: string;
  readonly host: string | undefined;
  readonly compression: "gzip" | "none";
  readonly tls: TlsOptions | undefined;
  readonly dispatcher: Dispatcher | undefined;
  readonly ack: Required<SplunkAckOptions> | undefined;
  /** One request's limit (the engine's `timeoutMs`). */
  readonly requestTimeoutMs: number;
}

const WHO = "SplunkHecExporter";

/**
 * Checks the Splunk-specific options. Errors say what to fix and never echo
 * the token or a URL that may carry one.
 */
export function resolveSplunkOptions(options: SplunkHecExporterOptions): ResolvedSplunkOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`${WHO}: options are required, e.g. { url: "https://splunk:8088" }`);
  }
  const { origin, basePath } = parseBaseUrl(options.url);
  if (options.dispatcher !== undefined && options.tls !== undefined) {
    // Silently ignoring tls here would leave a user believing their CA or
    // client certificate is in use.
    throw new TypeError(
      `${WHO}: tls and dispatcher exclude each other; configure TLS on your dispatcher`,
    );
  }
  return {
    origin,
    basePath,
    token: resolveToken(options.token),
    index: optionalString("index", options.index),
    source: optionalString("source", options.source) ?? SPLUNK_DEFAULTS.source,
    sourcetype: optionalString("sourcetype", options.sourcetype) ?? SPLUNK_DEFAULTS.sourcetype,
    host: optionalString("host", options.host),
    compression: resolveCompression(options.compression),
    tls: options.tls,
    dispatcher: resolveDispatcher(options.dispatcher),
    ack: resolveAck(options.ack),
    requestTimeoutMs: positiveInteger("timeoutMs", options.timeoutMs, 10_000),
  };
}

function parseBaseUrl(url: unknown): { origin: string; basePath: string } {
  const example = "e.g. https://splunk.example.com:8088";
  if (typeof url !== "string" || url.trim() === "") {
    throw new TypeError(`${WHO}: url is required: the HTTP Event Collector's base URL, ${example}`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    // The value is not echoed: a mistyped URL may hold a token.
    throw new TypeError(
      `${WHO}: url is not a valid absolute URL; give the HTTP Event Collector's base URL, ${example}`,
    );
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new TypeError(
      `${WHO}: url must start with https:// (or http:// when HEC has SSL off), ${example}`,
    );
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw new TypeError(`${WHO}: url must not carry credentials; pass the HEC token as token`);
  }
  if (parsed.search !== "" || parsed.hash !== "") {
    throw new TypeError(
      `${WHO}: url must not have a query string or fragment; pass the HEC token as token, not in the URL`,
    );
  }
  let basePath = parsed.pathname.replace(/\/+$/, "");
  const collector = basePath.search(/\/services\/collector(\/.*)?$/);
  if (collector >= 0) basePath = basePath.slice(0, collector);
  return { origin: parsed.origin, basePath };
}

function resolveToken(option: unknown): string {
  const fromEnv = process.env.SPLUNK_HEC_TOKEN;
  const raw = option ?? (fromEnv === "" ? undefined : fromEnv);
  if (raw === undefined || raw === null || raw === "") {
    throw new TypeError(
      `${WHO}: no HEC token. Pass { token } or set the SPLUNK_HEC_TOKEN environment variable ` +
        "(Splunk Web > Settings > Data inputs > HTTP Event Collector lists the tokens).",
    );
  }
  if (typeof raw !== "string") throw new TypeError(`${WHO}: token must be a string`);
  // A token pasted with its header prefix, or read from a file with a newline.
  const token = raw.trim().replace(/^Splunk\s+/i, "");
  if (token === "") throw new TypeError(`${WHO}: token is blank`);
  // HTTP allows only visible ASCII in this header value (RFC 9110 field-value,
  // without obs-text): any other character (a space, "€", a zero-width space
  // pasted with the token) would make every request fail before it leaves.
  // The token is not echoed, not even the offending character's position.
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new TypeError(
      `${WHO}: token contains a character that cannot go in an HTTP header (only visible ASCII is allowed: no spaces, control, non-ASCII or invisible characters); copy the token again from Splunk Web > Settings > Data inputs > HTTP Event Collector`,
    );
  }
  return token;
}

function optionalString(name: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || value === "") {
    throw new TypeError(`${WHO}: ${name} must be a non-empty string when given`);
  }
  return value;
}

function resolveCompression(value: unknown): "gzip" | "none" {
  if (value === undefined) return SPLUNK_DEFAULTS.compression;
  if (value !== "gzip" && value !== "none") {
    throw new TypeError(`${WHO}: compression must be "gzip" or "none"`);
  }
  return value;
}

function resolveDispatcher(value: unknown): Dispatcher | undefined {
  if (value === undefined) return undefined;
  if (typeof (value as Dispatcher)?.request !== "function") {
    throw new TypeError(
      `${WHO}: dispatcher must be an undici Dispatcher (Agent, Pool, ProxyAgent)`,
    );
  }
  return value as Dispatcher;
}

function resolveAck(value: unknown): Required<SplunkAckOptions> | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { ...SPLUNK_DEFAULTS.ack };
  if (typeof value !== "object" || value === null) {
    throw new TypeError(
      `${WHO}: ack must be true, false or { pollIntervalMs, timeoutMs, maxResends }`,
    );
  }
  const ack = value as SplunkAckOptions;
  return {
    pollIntervalMs: positiveInteger(
      "ack.pollIntervalMs",
      ack.pollIntervalMs,
      SPLUNK_DEFAULTS.ack.pollIntervalMs,
    ),
    timeoutMs: positiveInteger("ack.timeoutMs", ack.timeoutMs, SPLUNK_DEFAULTS.ack.timeoutMs),
    maxResends: integerAtLeast("ack.maxResends", ack.maxResends, SPLUNK_DEFAULTS.ack.maxResends, 0),
  };
}

function positiveInteger(name: string, value: unknown, fallback: number): number {
  return integerAtLeast(name, value, fallback, 1);
}

function integerAtLeast(name: string, value: unknown, fallback: number, least: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < least) {
    throw new RangeError(`${WHO}: ${name} must be an integer >= ${least}, got ${String(value)}`);
  }
  return value;
}
