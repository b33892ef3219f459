import { ExportError, isRetryableStatus, parseRetryAfter, redact } from "@a1/siem-core";

// Datadog's answers ("Send logs", https://docs.datadoghq.com/api/latest/logs/send-logs/):
// 202 accepted; 400 bad payload; 401 missing key; 403 invalid key or
// permission; 408 retry; 413 over 5 MB uncompressed; 429 retry; 500, 503 retry.

/** Where the requests go, for messages: never the key. */
export interface AnswerContext {
  /** `site datadoghq.eu` or the `url` origin. */
  readonly target: string;
  /** Strings to blank out of any text the server sent back. */
  readonly secrets: readonly string[];
}

type Headers = Record<string, string | string[] | undefined>;

/** The `ExportError` for a non-2xx answer. */
export function answerError(
  status: number,
  headers: Headers,
  body: string,
  context: AnswerContext,
): ExportError {
  const detail = describeBody(body, context.secrets);
  if (status === 401 || status === 403) {
    return new ExportError(
      status === 401
        ? `Datadog refused the request as unauthenticated (HTTP 401) at ${context.target}: ` +
            `no usable API key arrived; check apiKey or DD_API_KEY${detail}`
        : `Datadog refused the API key (HTTP 403) at ${context.target}: the key is invalid, ` +
            `revoked, lacks permission, or belongs to another Datadog site; use an API key ` +
            `(not an application key) of this site${detail}`,
      { status, retryable: false, reason: "rejected" },
    );
  }
  if (status === 413) {
    return new ExportError(
      `Datadog found the request too large (HTTP 413) at ${context.target}${detail}`,
      { status, retryable: false, tooLarge: true },
    );
  }
  if (isRetryableStatus(status)) {
    // Datadog documents no Retry-After for the logs intake; its API rate
    // limits use X-RateLimit-Reset (seconds until the limit resets:
    // https://docs.datadoghq.com/api/latest/rate-limits/). Either is honoured.
    const retryAfterMs =
      parseRetryAfter(headers["retry-after"]) ?? parseRetryAfter(headers["x-ratelimit-reset"]);
    return new ExportError(`Datadog answered HTTP ${status} at ${context.target}${detail}`, {
      status,
      retryable: true,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  return new ExportError(
    `Datadog rejected the request (HTTP ${status}) at ${context.target}${
      status === 400 ? ": the payload was malformed" : ""
    }${detail}`,
    { status, retryable: false, reason: "rejected" },
  );
}

/** A short, single-line, secret-free excerpt of the answer's body. */
function describeBody(body: string, secrets: readonly string[]): string {
  const text = redact(body, secrets).replace(/\s+/g, " ").trim();
  if (text === "" || text === "{}") return "";
  return `; Datadog said: ${text.length > 300 ? `${text.slice(0, 300)}…` : text}`;
}
