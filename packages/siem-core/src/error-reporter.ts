import type { AuditRecord } from "./audit-record.js";
import { ExportError, type ExportFailureReason } from "./export-error.js";
import type { ErrorHandler } from "./exporter.js";

/** Without an `onError`, at most one warning per this many ms (the rest are counted). */
const WARNING_INTERVAL_MS = 10_000;

/** How an `ErrorReporter` words its warnings and drops. */
export interface ErrorReporterOptions {
  /** `code` of the process warnings. @default "A1_SIEM_EXPORT" */
  readonly warningCode?: string;
  /** The message of a drop report; the default words overflow and closed in general terms. */
  readonly dropMessage?: (reason: ExportFailureReason, count: number) => string;
}

/**
 * Delivers `ExportError`s to the user's `onError`, or as rate-limited process
 * warnings when there is none. A handler that throws (or an async one that
 * rejects) never reaches the exporter's caller. Drops made inside `export()`
 * are gathered and reported together in the next microtask, so a flood costs
 * one report per tick. For backend authors: one per exporter.
 */
export class ErrorReporter {
  readonly #onError: ErrorHandler | undefined;
  readonly #source: string;
  readonly #warningCode: string;
  readonly #dropMessage: (reason: ExportFailureReason, count: number) => string;
  #lastWarningAt = Number.NEGATIVE_INFINITY;
  #suppressed = 0;
  #pendingDrops: Map<ExportFailureReason, AuditRecord[]> | undefined;

  /**
   * @param source Shown in warnings, e.g. the exporter's class name.
   * @param onError The user's handler; without one, reports become warnings.
   */
  constructor(
    source: string,
    onError: ErrorHandler | undefined,
    options: ErrorReporterOptions = {},
  ) {
    this.#source = source;
    this.#onError = onError;
    this.#warningCode = options.warningCode ?? "A1_SIEM_EXPORT";
    this.#dropMessage = options.dropMessage ?? dropMessage;
  }

  /** Hands `error` to `onError`, or warns (rate-limited) when there is none. */
  report(error: ExportError): void {
    if (this.#onError) {
      try {
        const result: unknown = this.#onError(error);
        // An async handler that rejects would otherwise be an unhandled rejection.
        if (typeof (result as PromiseLike<unknown> | undefined)?.then === "function") {
          (result as PromiseLike<unknown>).then(undefined, (handlerError: unknown) =>
            this.#handlerFailed(handlerError),
          );
        }
      } catch (handlerError) {
        this.#handlerFailed(handlerError);
      }
      return;
    }
    this.warn(
      `${error.records.length || error.rejectedCount || 0} record(s) ${error.reason}: ${error.message}`,
    );
  }

  #handlerFailed(handlerError: unknown): void {
    this.warn(
      `onError threw: ${handlerError instanceof Error ? handlerError.message : String(handlerError)}`,
    );
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

  #reportDrops(): void {
    const drops = this.#pendingDrops;
    this.#pendingDrops = undefined;
    if (!drops) return;
    for (const [reason, records] of drops) {
      this.report(new ExportError(this.#dropMessage(reason, records.length), { reason, records }));
    }
  }

  /** A rate-limited `process.emitWarning`: for incidents that concern no record. */
  warn(message: string): void {
    const now = Date.now();
    if (now - this.#lastWarningAt < WARNING_INTERVAL_MS) {
      this.#suppressed++;
      return;
    }
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    this.#lastWarningAt = now;
    const tail =
      suppressed > 0
        ? ` (${suppressed} similar warning(s) suppressed; pass onError to see each)`
        : "";
    process.emitWarning(`[${this.#source}] ${message}${tail}`, { code: this.#warningCode });
  }
}

function dropMessage(reason: ExportFailureReason, count: number): string {
  switch (reason) {
    case "overflow":
      return `${count} record(s) dropped: the queue is full (maxQueueSize, or spool.maxBytes with a spool)`;
    case "closed":
      return `${count} record(s) dropped: exported after close()`;
    default:
      return `${count} record(s) dropped (${reason})`;
  }
}
