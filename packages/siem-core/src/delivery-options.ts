import type { ErrorHandler } from "./exporter.js";
import type { SpoolOptions } from "./spool-options.js";

/** What to do with a new record when the queue already holds `maxQueueSize`. */
export type OverflowPolicy = "drop-newest" | "drop-oldest";

export interface RetryOptions {
  /** Attempts per batch, the first included. @default 10 */
  readonly maxAttempts?: number;
  /** Backoff ceiling of the first retry; doubles on each retry. @default 500 */
  readonly initialDelayMs?: number;
  /** Largest backoff ceiling. A backend's Retry-After may ask for longer and is honoured. @default 30000 */
  readonly maxDelayMs?: number;
}

/** Options of `BufferedExporter`, shared by every network exporter. */
export interface DeliveryOptions {
  /** Most records in one batch (capped by the backend's own limit). @default 500 */
  readonly batchSize?: number;
  /** Most bytes of one request body before compression (capped likewise). @default 1048576 */
  readonly maxBatchBytes?: number;
  /** Longest a record waits before its batch is sent. @default 1000 */
  readonly flushIntervalMs?: number;
  /** Most records held in memory, in flight included. @default 50000 */
  readonly maxQueueSize?: number;
  /** Which record to drop when the queue is full. @default "drop-newest" */
  readonly overflow?: OverflowPolicy;
  /** Exponential backoff with full jitter; Retry-After is honoured. */
  readonly retry?: RetryOptions;
  /** Most batches in flight at once. @default 2 */
  readonly concurrency?: number;
  /** One attempt's limit; the attempt is aborted and retried after it. @default 10000 */
  readonly timeoutMs?: number;
  /** Receives every failed or dropped record once. Without it, a rate-limited `process.emitWarning`. */
  readonly onError?: ErrorHandler;
  /**
   * Keep every accepted record on disk until it is settled, so that a crash,
   * a restart or an outage longer than memory allows loses nothing. See the
   * core README for what each `fsync` mode guarantees. Off by default.
   */
  readonly spool?: SpoolOptions;
}

/** TLS settings for HTTPS backends. Verification is on unless `rejectUnauthorized: false`. */
export interface TlsOptions {
  /** PEM certificate(s) of a private CA to trust. */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** PEM client certificate, for mutual TLS. */
  readonly cert?: string | Buffer;
  /** PEM private key of `cert`. */
  readonly key?: string | Buffer;
  /** Verify the server's certificate. Turn off only for development. @default true */
  readonly rejectUnauthorized?: boolean;
}

/** Options every network exporter takes in addition to `DeliveryOptions`. */
export interface NetworkExporterOptions extends DeliveryOptions {
  /** Compress request bodies. The default is each backend's (gzip where the vendor recommends it). */
  readonly compression?: "gzip" | "none";
  /** TLS settings for an `https:` endpoint; certificate verification is on by default. */
  readonly tls?: TlsOptions;
}

/** The limits a backend imposes; the engine clamps the user's options to them. */
export interface BackendLimits {
  /** Most records the backend accepts in one request; `batchSize` is clamped to it. */
  readonly maxBatchSize?: number;
  /** Most bytes of one request body the backend accepts; `maxBatchBytes` is clamped to it. */
  readonly maxBatchBytes?: number;
}
