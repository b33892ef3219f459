import type { AuditRecord, AuditRecordDict } from "./audit-record.js";
import type { ExportError } from "./export-error.js";

/**
 * Counters every exporter keeps. At every moment
 * `received === delivered + failed + dropped + pending`; after `close()`
 * resolves, `pending === 0`.
 */
export interface ExporterStats {
  /** Records accepted by `export()` (dropped ones included). */
  readonly received: number;
  /** Records the backend confirmed. */
  readonly delivered: number;
  /** Records that reached the backend's refusal or exhausted their retries. */
  readonly failed: number;
  /** Records dropped before any attempt: overflow, closed, oversize. */
  readonly dropped: number;
  /** Records still queued or in flight. */
  readonly pending: number;
  /** Request attempts after the first, over all batches. */
  readonly retries: number;
  /**
   * With a spool: records an earlier process left on disk, counted in
   * `received` at start and delivered first.
   */
  readonly recovered?: number;
  /**
   * With a spool: records left on disk for the next start because the
   * backend still failed at `close()`. With a spool the invariant reads
   * `received === delivered + failed + dropped + pending + retained`.
   */
  readonly retained?: number;
  /** With a spool: records pending that are on disk. */
  readonly spooled?: number;
  /** With a spool: bytes of records on disk. */
  readonly spoolBytes?: number;
  /** With a spool: appends that failed (disk full, directory gone); those records were kept in memory. */
  readonly spoolErrors?: number;
}

/**
 * The contract every exporter implements, including `CompositeExporter` and
 * `BufferedExporter`.
 */
export interface AuditExporter {
  /** Accepts one record. Never blocks on I/O and never throws for delivery problems. */
  export(record: AuditRecord): void;
  /** `AuditRecord.fromDict(dict)` then `export()`. Throws `AuditRecordError` on malformed input; nothing is queued then. */
  exportDict(dict: AuditRecordDict): void;
  /** Settles every record accepted before the call: delivered, or reported as failed or dropped. Never rejects. */
  flush(): Promise<void>;
  /** Flushes, then releases sockets, timers and file handles. Idempotent; never rejects. */
  close(): Promise<void>;
  stats(): ExporterStats;
}

export interface ExportBatchOptions {
  /** Aborted when the attempt times out (`timeoutMs`) or the exporter is torn down. */
  readonly signal: AbortSignal;
  /**
   * The records as `BatchExporter.encode` made them, in the same order, when
   * the backend has `encode`: the engine measured these for `maxBatchBytes`
   * and the backend can send them without serialising again.
   */
  readonly encoded?: readonly string[];
}

/**
 * The result of a batch the backend accepted in part (e.g. an OTLP partial
 * success): `rejected` records of the batch were refused without being
 * named; the engine counts them failed and reports `error` through `onError`.
 */
export interface PartialBatchResult {
  readonly rejected: number;
  readonly error: ExportError;
}

/**
 * What a backend implements to be driven by `BufferedExporter`: one attempt
 * to deliver one batch. The engine owns batching, retry, backoff and
 * accounting; the backend owns the wire format and the classification of
 * answers.
 */
export interface BatchExporter {
  /**
   * Makes one attempt to deliver `records`. Resolves when the backend
   * accepted them (or accepted part: see `PartialBatchResult`). Rejects with
   * an `ExportError` that says `retryable`, carries `retryAfterMs` when the
   * backend asked for a delay, `status` where there was one and `tooLarge`
   * for a 413. An `ExportError` whose `records` name a strict subset of the
   * batch fails just those records; the rest are sent again. Never retries by
   * itself.
   */
  exportBatch(
    records: readonly AuditRecord[],
    options: ExportBatchOptions,
  ): Promise<void | PartialBatchResult>;
  /**
   * Serialises one record as it will travel, so that the engine can cut
   * batches by `maxBatchBytes` off the `export()` path. Optional.
   */
  encode?(record: AuditRecord): string;
  /** Bytes of framing a request adds per record (separators), for `maxBatchBytes`. */
  readonly bytesPerRecordOverhead?: number;
  /** Largest single encoded record the backend accepts; larger ones are dropped as `"oversize"`. */
  readonly maxRecordBytes?: number;
  /** Releases the backend's own resources (sockets). Called once by the engine's `close()`. */
  close?(): Promise<void>;
}

/** Callback that receives every failed or dropped record exactly once. */
export type ErrorHandler = (error: ExportError) => void;
