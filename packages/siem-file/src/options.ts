import type { ErrorHandler } from "@a1/siem-core";

/** Options of `NdjsonFileExporter`. Every one is optional. */
export interface NdjsonFileExporterOptions {
  /**
   * Write every this many records. With 1, each record's line is in the file
   * (the operating system's page cache) when `export()` returns; with N, lines
   * wait in memory until N are there, `flushIntervalMs` passes, or `flush()` /
   * `close()` is called. @default 1
   */
  readonly flushEvery?: number;
  /**
   * The exporter's clock: the longest a buffered line waits (with
   * `flushEvery` > 1), the delay before a failed write is tried again, how
   * often lines are fsynced with `fsync: true`, and how often the exporter
   * checks that `path` still names its file (and reopens it when it was
   * moved or deleted). The timer never keeps the process alive. @default 1000
   */
  readonly flushIntervalMs?: number;
  /**
   * Make written lines durable (fdatasync): before `flush()` and `close()`
   * resolve, at each `flushIntervalMs` tick, and before a rotated file is
   * closed. `export()` itself never waits for the disk. @default false
   */
  readonly fsync?: boolean;
  /**
   * Permissions of a file the exporter creates, set exactly (the umask does
   * not apply). An existing file keeps its mode. @default 0o600
   */
  readonly mode?: number;
  /**
   * Rotate when the file would grow past this many bytes: `path` becomes
   * `path.1`, `path.1` becomes `path.2`, … Lines are never split across
   * files; a single line larger than `maxBytes` gets a file of its own.
   * For one writing process (with several, use logrotate and `reopen()`).
   * @default undefined (no rotation)
   */
  readonly maxBytes?: number;
  /** Rotated files kept (`path.1` … `path.<maxFiles>`); the oldest is deleted. Needs `maxBytes`. @default 5 */
  readonly maxFiles?: number;
  /**
   * Most records held in memory while they cannot be written (disk full,
   * directory gone) or wait for `flushEvery`. A record beyond is dropped
   * with reason `"overflow"`. @default 50000
   */
  readonly maxQueueSize?: number;
  /** Receives every failed or dropped record once. Without it, a rate-limited `process.emitWarning`. */
  readonly onError?: ErrorHandler;
}

/** The options with defaults applied and values checked. */
export interface ResolvedFileOptions {
  readonly flushEvery: number;
  readonly flushIntervalMs: number;
  readonly fsync: boolean;
  readonly mode: number;
  readonly maxBytes: number | undefined;
  readonly maxFiles: number;
  readonly maxQueueSize: number;
  readonly onError: ErrorHandler | undefined;
}

/** Defaults of `NdjsonFileExporterOptions`. */
export const FILE_DEFAULTS = {
  flushEvery: 1,
  flushIntervalMs: 1000,
  fsync: false,
  mode: 0o600,
  maxFiles: 5,
  maxQueueSize: 50_000,
} as const;

/** Applies defaults and rejects nonsense with a `RangeError` / `TypeError` naming the option. */
export function resolveFileOptions(options: NdjsonFileExporterOptions): ResolvedFileOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("NdjsonFileExporter options must be an object");
  }
  const d = FILE_DEFAULTS;
  if (options.fsync !== undefined && typeof options.fsync !== "boolean") {
    throw new TypeError("fsync must be a boolean");
  }
  if (options.onError !== undefined && typeof options.onError !== "function") {
    throw new TypeError("onError must be a function");
  }
  const maxQueueSize = integer("maxQueueSize", options.maxQueueSize, d.maxQueueSize, 1);
  const flushEvery = integer("flushEvery", options.flushEvery, d.flushEvery, 1);
  if (flushEvery > maxQueueSize) {
    throw new RangeError(
      `flushEvery (${flushEvery}) must not exceed maxQueueSize (${maxQueueSize})`,
    );
  }
  const maxBytes =
    options.maxBytes === undefined ? undefined : integer("maxBytes", options.maxBytes, 0, 1);
  if (maxBytes === undefined && options.maxFiles !== undefined) {
    throw new RangeError("maxFiles needs maxBytes (rotation by size)");
  }
  const mode = integer("mode", options.mode, d.mode, 0);
  if (mode > 0o7777) throw new RangeError(`mode must be at most 0o7777, got 0o${mode.toString(8)}`);
  return {
    flushEvery,
    flushIntervalMs: integer("flushIntervalMs", options.flushIntervalMs, d.flushIntervalMs, 1),
    fsync: options.fsync ?? d.fsync,
    mode,
    maxBytes,
    maxFiles: integer("maxFiles", options.maxFiles, d.maxFiles, 1),
    maxQueueSize,
    onError: options.onError,
  };
}

function integer(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}
