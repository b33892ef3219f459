import { promisify } from "node:util";
import { gzip as gzipCallback } from "node:zlib";
import type { AuditRecord } from "./audit-record.js";
import { MAX_RETRY_AFTER_MS } from "./backoff.js";
import type { TlsOptions } from "./delivery-options.js";
import { ExportError } from "./export-error.js";

// Shared by the HTTP backends (Splunk, Datadog) without tying core to an HTTP
// client: these functions see status codes, header values and byte streams only.

const gzipAsync = promisify(gzipCallback);

/**
 * Gzips a request body on libuv's thread pool, off the event loop.
 *
 * @param level zlib level, 1 (fastest) to 9 (smallest); zlib's default is 6.
 */
export function gzipBody(body: string | Uint8Array, level?: number): Promise<Buffer> {
  return level === undefined ? gzipAsync(body) : gzipAsync(body, { level });
}

/** The longest Retry-After the engine honours (also applied by `parseRetryAfter`). */
export { MAX_RETRY_AFTER_MS };

/**
 * Parses an HTTP `Retry-After` value (delay in seconds, or an HTTP date) into
 * milliseconds from `now`; undefined when absent or unreadable.
 */
export function parseRetryAfter(
  value: string | readonly string[] | undefined,
  now = Date.now(),
): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (typeof text !== "string" || text.trim() === "") return undefined;
  const trimmed = text.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    ms = Number(trimmed) * 1000;
  } else {
    // Every HTTP-date form names a day or month; V8's Date.parse alone also
    // takes strings like "-5" (as a date in 2001).
    const at = /[a-z]/i.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(Math.max(0, Math.ceil(ms)), MAX_RETRY_AFTER_MS);
}

/**
 * Whether a generic HTTP backend should retry this status: 408, 429 and 5xx
 * except 501 (the server lacks the method) and 505 (version not supported), which will
 * not change on their own. Backends with their own rules (OTLP) apply those.
 */
export function isRetryableStatus(status: number): boolean {
  return (
    status === 408 ||
    status === 429 ||
    (status >= 500 && status <= 599 && status !== 501 && status !== 505)
  );
}

/**
 * An `ExportError` for a failure before any answer arrived: connection
 * refused or reset, DNS, TLS, or the attempt's timeout. Retryable, except
 * TLS certificate errors and requests the HTTP client refused to build
 * (an invalid header value), which no retry will fix.
 */
export function networkExportError(cause: unknown, signal?: AbortSignal): ExportError {
  const code = errorCode(cause);
  if (signal?.aborted) {
    return new ExportError("request timed out or was aborted before the backend answered", {
      retryable: true,
      cause,
    });
  }
  const tls =
    code !== undefined && /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|HOSTNAME/i.test(code);
  const message = cause instanceof Error ? cause.message : String(cause);
  if (code !== undefined && INVALID_REQUEST_CODES.has(code)) {
    // The HTTP client refused to build the request (a header value with a
    // character HTTP forbids, say): nothing left, and no retry will change it.
    return new ExportError(
      `the request could not be built (${code}): ${message}; check the configured headers and credentials`,
      { retryable: false, cause },
    );
  }
  return new ExportError(
    tls
      ? `TLS error (${code}): ${message}; check tls.ca or the server's certificate`
      : `network error${code ? ` (${code})` : ""}: ${message}`,
    { retryable: !tls, cause },
  );
}

/** Error codes of Node's and undici's HTTP clients for a request they refuse to send. */
const INVALID_REQUEST_CODES: ReadonlySet<string> = new Set([
  "UND_ERR_INVALID_ARG",
  "ERR_INVALID_CHAR",
  "ERR_INVALID_HTTP_TOKEN",
  "ERR_HTTP_INVALID_HEADER_VALUE",
]);

/** The first `code` along an error's `cause` chain (undici wraps the socket's), if any. */
export function errorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && code !== "UND_ERR_SOCKET") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Reads at most `limit` bytes of a response body as text (the rest is discarded). */
export async function readTextUpTo(
  body: AsyncIterable<Uint8Array>,
  limit = 64 * 1024,
): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < limit) {
      chunks.push(size + chunk.byteLength > limit ? chunk.subarray(0, limit - size) : chunk);
    }
    size += chunk.byteLength;
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Replaces every occurrence of each secret in `text` by `[REDACTED]`. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) result = result.split(secret).join("[REDACTED]");
  }
  return result;
}

/** The records of a batch whose positions are in `indexes`, in batch order. */
export function pickRecords(
  records: readonly AuditRecord[],
  indexes: Iterable<number>,
): AuditRecord[] {
  const picked: AuditRecord[] = [];
  for (const index of indexes) {
    const record = records[index];
    if (record !== undefined) picked.push(record);
  }
  return picked;
}

/** TLS settings as an HTTP client's `connect` options (undici, node:https); verification stays on unless turned off. */
export interface TlsConnectOptions {
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer;
  key?: string | Buffer;
  rejectUnauthorized: boolean;
}

/** Maps core's `TlsOptions` to a client's connect options, with verification on by default. */
export function tlsConnectOptions(tls: TlsOptions = {}): TlsConnectOptions {
  const { ca, cert, key, rejectUnauthorized } = tls;
  return {
    ...(ca === undefined ? {} : { ca: Array.isArray(ca) ? [...ca] : (ca as string | Buffer) }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    rejectUnauthorized: rejectUnauthorized ?? true,
  };
}
