import type { ErrorHandler } from "@a1/siem-core";
import { type AuditRecord, ExportError, type ExportFailureReason } from "@a1/siem-core";

/** Without an `onError`, at most one warning per this many ms (the rest are counted). */
const WARNING_INTERVAL_MS = 10_000;

/**
 * Delivers `ExportError`s to the user's `onError`, or as rate-limited process
 * warnings when there is none; also warns about incidents that concern no
 * record (the file was deleted, a rotation failed). A handler that throws
 * never reaches the exporter's caller. Drops made inside `export()` are
 * gathered and reported together in the next microtask, so that a flood
 * costs one report per tick.
 *
 * (Core has the same machinery but does not export it; this is the file
 * exporter's own copy so that core's public surface stays as it is.)
 */
export class ErrorReporter {
  readonly #onError: ErrorHandler | undefined;
  readonly #source: string;
  #lastWarningAt = Number.NEGATIVE_INFINITY;
  #suppressed = 0;
  #pendingDrops: Map<ExportFailureReason, AuditRecord[]> | undefined;

  constructor(source: string, onError: ErrorHandler | undefined) {
    this.#source = source;
    this.#onError = onError;
  }

  report(error: ExportError): void {
    if (this.#onError) {
      try {
        this.#onError(error);
      } catch (handlerError) {
        this.warn(
          `onError threw: ${handlerError instanceof Error ? handlerError.message : String(handlerError)}`,
        );
      }
      return;
    }
    this.warn(`${error.records.length} record(s) ${error.reason}: ${error.message}`);
  }

  /** Reports `record` as dropped for `reason` in the next microtask, with the others dropped this tick. */
  reportDropSoon(reason: ExportFailureReason, record: AuditRecord): void {
    if (this.#pendingDrops === undefined) {
      this.#pendingDrops = new Map();
      queueMicrotask(() => this.#reportDrops());
    }
    const list = this.#pendingDrops.get(reason);
    if (list) list.push(record);
    else this.#pendingDrops.set(reason, [record]);
  }

  /** A rate-limited `process.emitWarning` (code `A1_SIEM_FILE`). */
  warn(message: string): void {
    const now = Date.now();
    if (now - this.#lastWarningAt < WARNING_INTERVAL_MS) {
      this.#suppressed++;
      return;
    }
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    this.#lastWarningAt = now;
    const tail = suppressed > 0 ? ` (${suppressed} similar warning(s) suppressed)` : "";
    process.emitWarning(`[${this.#source}] ${message}${tail}`, { code: "A1_SIEM_FILE" });
  }

  #reportDrops(): void {
    const drops = this.#pendingDrops;
    this.#pendingDrops = undefined;
    if (!drops) return;
    for (const [reason, records] of drops) {
      const why =
        reason === "overflow"
          ? "the file cannot be written and maxQueueSize records are already waiting"
          : reason === "closed"
            ? "exported after close()"
            : reason;
      this.report(
        new ExportError(`${records.length} record(s) dropped: ${why}`, { reason, records }),
      );
    }
  }
}
