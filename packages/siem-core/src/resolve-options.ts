import type { BackendLimits, DeliveryOptions, OverflowPolicy } from "./delivery-options.js";
import type { ErrorHandler } from "./exporter.js";

/** Delivery options with every default applied and every value checked. */
export interface ResolvedDeliveryOptions {
  readonly batchSize: number;
  readonly maxBatchBytes: number;
  readonly flushIntervalMs: number;
  readonly maxQueueSize: number;
  readonly overflow: OverflowPolicy;
  readonly retry: {
    readonly maxAttempts: number;
    readonly initialDelayMs: number;
    readonly maxDelayMs: number;
  };
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly onError: ErrorHandler | undefined;
}

export const DEFAULT_DELIVERY_OPTIONS = {
  batchSize: 500,
  maxBatchBytes: 1024 * 1024,
  flushIntervalMs: 1000,
  maxQueueSize: 50_000,
  overflow: "drop-newest",
  retry: { maxAttempts: 10, initialDelayMs: 500, maxDelayMs: 30_000 },
  concurrency: 2,
  timeoutMs: 10_000,
} as const;

/**
 * Applies defaults, clamps to the backend's limits and rejects nonsense
 * (a zero batch size, a negative delay) with a `RangeError` naming the option.
 */
export function resolveDeliveryOptions(
  options: DeliveryOptions,
  limits: BackendLimits = {},
): ResolvedDeliveryOptions {
  const d = DEFAULT_DELIVERY_OPTIONS;
  const overflow = options.overflow ?? d.overflow;
  if (overflow !== "drop-newest" && overflow !== "drop-oldest") {
    throw new RangeError(
      `overflow must be "drop-newest" or "drop-oldest", got ${JSON.stringify(overflow)}`,
    );
  }
  if (options.onError !== undefined && typeof options.onError !== "function") {
    throw new TypeError("onError must be a function");
  }
  const maxBatchSize = limits.maxBatchSize ?? Number.POSITIVE_INFINITY;
  const maxBatchBytes = limits.maxBatchBytes ?? Number.POSITIVE_INFINITY;
  const retry = options.retry ?? {};
  return {
    batchSize: Math.min(
      integer("batchSize", options.batchSize, Math.min(d.batchSize, maxBatchSize), 1),
      maxBatchSize,
    ),
    maxBatchBytes: Math.min(
      integer("maxBatchBytes", options.maxBatchBytes, Math.min(d.maxBatchBytes, maxBatchBytes), 1),
      maxBatchBytes,
    ),
    flushIntervalMs: integer("flushIntervalMs", options.flushIntervalMs, d.flushIntervalMs, 0),
    maxQueueSize: integer("maxQueueSize", options.maxQueueSize, d.maxQueueSize, 1),
    overflow,
    retry: {
      maxAttempts: integer("retry.maxAttempts", retry.maxAttempts, d.retry.maxAttempts, 1),
      initialDelayMs: integer(
        "retry.initialDelayMs",
        retry.initialDelayMs,
        d.retry.initialDelayMs,
        0,
      ),
      maxDelayMs: integer("retry.maxDelayMs", retry.maxDelayMs, d.retry.maxDelayMs, 0),
    },
    concurrency: integer("concurrency", options.concurrency, d.concurrency, 1),
    timeoutMs: integer("timeoutMs", options.timeoutMs, d.timeoutMs, 1),
    onError: options.onError,
  };
}

function integer(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}
