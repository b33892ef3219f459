import {
  type AuditRecord,
  type BatchExporter,
  ExportError,
  type PartialBatchResult,
} from "@a1/siem-core";
import { ROOT_CONTEXT, trace } from "@opentelemetry/api";
import type { Logger } from "@opentelemetry/api-logs";
import type { ApplicationLoggerProvider } from "./exporter-options.js";
import {
  attributesOf,
  EVENT_NAME,
  eventTimeOf,
  hrTimeNow,
  severityOf,
  spanContextOf,
} from "./log-record-mapping.js";
import { INSTRUMENTATION_SCOPE } from "./scope.js";

/**
 * The `BatchExporter` of the `loggerProvider` mode: each record is emitted on
 * a logger of the application's provider, with the same LogRecord fields as
 * over OTLP/HTTP. "Delivered" means handed to the provider: what its
 * processors and exporters do next is theirs to report.
 */
export class ProviderEmitter implements BatchExporter {
  readonly #provider: ApplicationLoggerProvider;
  readonly #logger: Logger;

  constructor(provider: ApplicationLoggerProvider) {
    this.#provider = provider;
    this.#logger = provider.getLogger(INSTRUMENTATION_SCOPE.name, INSTRUMENTATION_SCOPE.version);
  }

  async exportBatch(records: readonly AuditRecord[]): Promise<void | PartialBatchResult> {
    const observedTimestamp = hrTimeNow();
    const refused: AuditRecord[] = [];
    let firstError: unknown;
    for (const record of records) {
      const spanContext = spanContextOf(record);
      try {
        this.#logger.emit({
          eventName: EVENT_NAME,
          timestamp: eventTimeOf(record),
          observedTimestamp,
          severityNumber: severityOf(record.outcome),
          severityText: record.outcome,
          body: record.toNdjson(),
          attributes: attributesOf(record, spanContext !== undefined),
          // Always explicit: without a context the SDK would take the
          // active one, which belongs to whatever code runs the batch.
          context:
            spanContext === undefined
              ? ROOT_CONTEXT
              : trace.setSpanContext(ROOT_CONTEXT, spanContext),
        });
      } catch (error) {
        firstError ??= error;
        refused.push(record);
      }
    }
    if (refused.length === 0) return;
    const message = firstError instanceof Error ? firstError.message : String(firstError);
    const error = new ExportError(`the application's LoggerProvider threw on emit(): ${message}`, {
      records: refused,
      reason: "rejected",
      cause: firstError,
    });
    // The other records were emitted: never a retry of the batch, which would
    // emit them twice. The engine fails the named records, delivers the rest.
    return { rejected: refused.length, error };
  }

  /** `forceFlush()` of the provider, when it has one. */
  async forceFlush(): Promise<void> {
    await this.#provider.forceFlush?.();
  }
}
