import type { AuditRecord } from "./audit-record.js";

/** Why records left the pipeline without being delivered. */
export type ExportFailureReason =
  /** The queue was full (see `maxQueueSize` and `overflow`). */
  | "overflow"
  /** Exported after `close()`. */
  | "closed"
  /** One record is larger than the backend accepts. */
  | "oversize"
  /** The backend refused permanently (bad data, bad credentials, …). */
  | "rejected"
  /** Every allowed attempt failed with a retryable error. */
  | "retries-exhausted";

/** What `new ExportError(message, options)` takes. */
export interface ExportErrorOptions {
  /** Why the records left the pipeline. Default: `"retries-exhausted"` when `retryable`, else `"rejected"`. */
  reason?: ExportFailureReason;
  /** The records the error is about; a strict subset of a batch fails just those. */
  records?: readonly AuditRecord[];
  /** True when another attempt may succeed (network error, timeout, 429, 5xx, busy). */
  retryable?: boolean;
  /** How long the backend asked the client to wait before the next attempt. */
  retryAfterMs?: number;
  /** HTTP status of the answer, where there was one. */
  status?: number;
  /** The backend said the request was too large (HTTP 413): split the batch and retry the halves. */
  tooLarge?: boolean;
  /** Another count of records the backend rejected without naming them (e.g. OTLP partial success). */
  rejectedCount?: number;
  /** The underlying error (kept as the standard `Error.cause`). */
  cause?: unknown;
}

const MARKER = Symbol.for("@a1/siem-core/ExportError");

/**
 * A delivery failure. Backends throw it from `exportBatch` to tell the engine
 * whether to retry; the engine hands it to `onError` with `reason` and the
 * affected `records` once they have left the pipeline.
 *
 * Messages never carry secrets: backends build them from status codes and
 * the backend's own answer, never from request headers.
 */
export class ExportError extends Error {
  /** Why the records left the pipeline (see `ExportFailureReason`). */
  readonly reason: ExportFailureReason;
  /** The records this error is about; for `onError`, the records that failed or were dropped. */
  readonly records: readonly AuditRecord[];
  /** True when another attempt may succeed (network error, timeout, 408, 429, 5xx, busy). */
  readonly retryable: boolean;
  /** How long the backend asked the client to wait before the next attempt, in ms. */
  readonly retryAfterMs: number | undefined;
  /** HTTP status of the backend's answer, where there was one. */
  readonly status: number | undefined;
  /** The backend said the request was too large (413): the engine splits the batch. */
  readonly tooLarge: boolean;
  /** How many records of `records` the backend refused without naming them (partial success). */
  readonly rejectedCount: number | undefined;

  constructor(message: string, options: ExportErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ExportError";
    this.reason = options.reason ?? (options.retryable ? "retries-exhausted" : "rejected");
    this.records = options.records ?? [];
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
    this.tooLarge = options.tooLarge ?? false;
    this.rejectedCount = options.rejectedCount;
    Object.defineProperty(this, MARKER, { value: true });
    // The records are evidence, not diagnostics: keep them out of
    // util.inspect / console.log output, which may end up in a log shipper.
    Object.defineProperty(this, "records", { enumerable: false });
  }

  /** True for an `ExportError`, also one made by another copy of this package. */
  static isInstance(value: unknown): value is ExportError {
    return typeof value === "object" && value !== null && MARKER in value;
  }

  /** A copy of this error about other records and for another reason (used by the engine). */
  withRecords(
    records: readonly AuditRecord[],
    reason: ExportFailureReason = this.reason,
  ): ExportError {
    return new ExportError(this.message, {
      reason,
      records,
      retryable: this.retryable,
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
      ...(this.status === undefined ? {} : { status: this.status }),
      tooLarge: this.tooLarge,
      ...(this.rejectedCount === undefined ? {} : { rejectedCount: this.rejectedCount }),
      cause: this.cause ?? this,
    });
  }
}
