import { networkExportError, redact } from "@a1/siem-core";

/** What `healthCheck()` found. It never throws. */
export interface DatadogHealth {
  /** True when Datadog accepted the API key. */
  readonly healthy: boolean;
  /**
   * What is wrong: `"api-key"` (Datadog refused the key: 401 or 403),
   * `"tls"` (the certificate could not be verified), `"unreachable"` (no
   * answer: DNS, connection, timeout), `"unexpected"` (any other answer).
   */
  readonly problem?: "api-key" | "tls" | "unreachable" | "unexpected";
  /** The HTTP status, where there was an answer. */
  readonly status?: number;
  /** One sentence for a human; never contains the key. */
  readonly message: string;
}

/** The answer of Datadog's "Validate API key" endpoint, or why there was none. */
export type ValidateOutcome =
  | { readonly status: number; readonly body: string }
  | { readonly error: unknown; readonly signal: AbortSignal };

/**
 * Reads the answer of `GET /api/v1/validate` ("Validate API key",
 * https://docs.datadoghq.com/api/latest/authentication/validate-api-key/):
 * 200 `{"valid": true}` for a valid API key, 403 otherwise.
 */
export function judgeHealth(
  outcome: ValidateOutcome,
  target: string,
  secrets: readonly string[],
): DatadogHealth {
  if ("error" in outcome) {
    const failure = networkExportError(outcome.error, outcome.signal);
    const message = redact(failure.message, secrets);
    return failure.retryable
      ? { healthy: false, problem: "unreachable", message: `${target} did not answer: ${message}` }
      : { healthy: false, problem: "tls", message: `${target}: ${message}` };
  }
  const { status } = outcome;
  if (status === 200 && /"valid"\s*:\s*true/.test(outcome.body)) {
    return { healthy: true, status, message: `Datadog accepted the API key at ${target}` };
  }
  if (status === 401 || status === 403) {
    return {
      healthy: false,
      problem: "api-key",
      status,
      message:
        `Datadog refused the API key (HTTP ${status}) at ${target}: it is invalid, revoked, ` +
        "an application key, or a key of another Datadog site",
    };
  }
  const excerpt = redact(outcome.body, secrets).replace(/\s+/g, " ").trim().slice(0, 200);
  return {
    healthy: false,
    problem: "unexpected",
    status,
    message: `unexpected answer from ${target} (HTTP ${status})${excerpt ? `: ${excerpt}` : ""}`,
  };
}
