import { AuditRecord, type AuditRecordDict } from "./audit-record.js";
import { ErrorReporter } from "./error-reporter.js";
import { ExportError } from "./export-error.js";
import type { AuditExporter, ErrorHandler, ExporterStats } from "./exporter.js";

/** Totals over the children (a record sent to two children counts twice) and each child's own stats. */
export interface CompositeExporterStats extends ExporterStats {
  readonly children: readonly ExporterStats[];
}

export interface CompositeExporterOptions {
  /** Receives a child's synchronous throw from `export()` (a bug in that child). */
  readonly onError?: ErrorHandler;
}

/**
 * Sends each record to every child. A child that throws or fails never
 * affects another child or the caller; `flush()` and `close()` wait for every
 * child.
 *
 * @example
 * const exporter = new CompositeExporter([new NdjsonFileExporter("audit.ndjson"), splunk]);
 */
export class CompositeExporter implements AuditExporter {
  readonly #children: readonly AuditExporter[];
  readonly #reporter: ErrorReporter;

  constructor(children: readonly AuditExporter[], options: CompositeExporterOptions = {}) {
    if (!Array.isArray(children))
      throw new TypeError("CompositeExporter takes an array of exporters");
    children.forEach((child, index) => {
      for (const method of ["export", "flush", "close", "stats"] as const) {
        if (typeof child?.[method] !== "function") {
          throw new TypeError(`CompositeExporter: child ${index} has no ${method}() method`);
        }
      }
    });
    this.#children = [...children];
    this.#reporter = new ErrorReporter("CompositeExporter", options.onError);
  }

  /** Passes `record` to every child; a child that throws is reported, never rethrown. */
  export(record: AuditRecord): void {
    if (!AuditRecord.isInstance(record)) {
      throw new TypeError("export() takes an AuditRecord; use exportDict() for a plain object");
    }
    for (const child of this.#children) {
      try {
        child.export(record);
      } catch (error) {
        this.#reporter.report(
          new ExportError(
            `${child.constructor?.name ?? "child"}.export() threw: ${String(error)}`,
            {
              records: [record],
              cause: error,
            },
          ),
        );
      }
    }
  }

  /** Parses `dict` once (AuditRecordError if malformed) and sends the record to every child. */
  exportDict(dict: AuditRecordDict): void {
    this.export(AuditRecord.fromDict(dict));
  }

  /** Flushes every child and waits for all of them; never rejects. */
  async flush(): Promise<void> {
    await this.#each((child) => child.flush());
  }

  /** Closes every child and waits for all of them; never rejects. */
  async close(): Promise<void> {
    await this.#each((child) => child.close());
  }

  /** Totals over the children (a record sent to two children counts twice) and each child's stats. */
  stats(): CompositeExporterStats {
    const children = this.#children.map((child) => child.stats());
    const total = { received: 0, delivered: 0, failed: 0, dropped: 0, pending: 0, retries: 0 };
    for (const stats of children) {
      total.received += stats.received;
      total.delivered += stats.delivered;
      total.failed += stats.failed;
      total.dropped += stats.dropped;
      total.pending += stats.pending;
      total.retries += stats.retries;
    }
    return { ...total, children };
  }

  async #each(action: (child: AuditExporter) => Promise<void>): Promise<void> {
    const results = await Promise.allSettled(
      this.#children.map((child) => {
        try {
          return action(child);
        } catch (error) {
          return Promise.reject(error);
        }
      }),
    );
    for (const result of results) {
      if (result.status === "rejected") {
        this.#reporter.report(
          new ExportError("a child exporter's flush() or close() failed", { cause: result.reason }),
        );
      }
    }
  }
}
