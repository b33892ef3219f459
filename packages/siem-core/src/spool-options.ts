/** When the spool makes appended records durable; see the core README for each mode's guarantee. */
export type SpoolFsync = "always" | "interval" | "never";

/** A durable spool: every accepted record is on disk before `export()` returns. */
export interface SpoolOptions {
  /** Directory of the spool; one exporter (one process) owns it at a time. Created with mode 0700. */
  readonly dir: string;
  /** Most bytes of records on disk; beyond it the `overflow` policy applies. @default 268435456 (256 MiB) */
  readonly maxBytes?: number;
  /** `"always"`: fdatasync before `export()` returns; `"interval"`: every `fsyncIntervalMs`; `"never"`: the OS decides. @default "interval" */
  readonly fsync?: SpoolFsync;
  /** Period of the `"interval"` sync. @default 1000 */
  readonly fsyncIntervalMs?: number;
  /** Size at which a new segment file starts (at most a quarter of `maxBytes`); a segment is deleted once all its records are settled. @default 8388608 (8 MiB) */
  readonly segmentBytes?: number;
  /** Keep records that failed for good in `dead-letter.ndjson` in `dir` (one wire line each). @default false */
  readonly deadLetter?: boolean;
}

/** Spool options with defaults applied. */
export interface ResolvedSpoolOptions {
  readonly dir: string;
  readonly maxBytes: number;
  readonly fsync: SpoolFsync;
  readonly fsyncIntervalMs: number;
  readonly segmentBytes: number;
  readonly deadLetter: boolean;
}

/** Applies the defaults and rejects nonsense with an error naming the option. */
export function resolveSpoolOptions(options: SpoolOptions): ResolvedSpoolOptions {
  if (
    typeof options !== "object" ||
    options === null ||
    typeof options.dir !== "string" ||
    options.dir === ""
  ) {
    throw new TypeError("spool.dir must be a directory path");
  }
  const fsync = options.fsync ?? "interval";
  if (fsync !== "always" && fsync !== "interval" && fsync !== "never") {
    throw new RangeError(
      `spool.fsync must be "always", "interval" or "never", got ${JSON.stringify(fsync)}`,
    );
  }
  const positive = (name: string, value: number | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`spool.${name} must be a positive integer, got ${String(value)}`);
    }
    return value;
  };
  const maxBytes = positive("maxBytes", options.maxBytes, 256 * 1024 * 1024);
  return {
    dir: options.dir,
    maxBytes,
    fsync,
    fsyncIntervalMs: positive("fsyncIntervalMs", options.fsyncIntervalMs, 1000),
    // A segment is deleted only once all its records are settled: keep it a
    // small part of maxBytes so that settled records free their disk soon.
    segmentBytes: Math.max(
      1,
      Math.min(
        positive("segmentBytes", options.segmentBytes, 8 * 1024 * 1024),
        Math.floor(maxBytes / 4),
      ),
    ),
    deadLetter: options.deadLetter ?? false,
  };
}
