import { BufferedExporter, type DeliveryOptions, ExportError } from "@a1/siem-core";
import type { OpenTelemetryExporterOptions } from "./exporter-options.js";
import { OtlpHttpSender } from "./otlp-http-sender.js";
import { ProviderEmitter } from "./provider-emitter.js";
import { resolveOtelConfig } from "./resolve-config.js";

/** Defaults of this exporter where they differ from the engine's. */
const DEFAULT_BATCH_SIZE = 1000;
const DEFAULT_CONCURRENCY = 2;

/**
 * Ships audit records as OpenTelemetry LogRecords: over OTLP/HTTP
 * (protobuf or JSON) to a Collector or any OTLP backend, or through the
 * application's own `LoggerProvider`.
 *
 * Each record is one LogRecord: time = the authorization time
 * (`timestamp_unix * 1e9` ns exactly), observed time = when it was sent,
 * severity INFO for `AUTHORIZED` and WARN otherwise with the outcome as
 * severity text, body = the record's NDJSON line, attributes = its wire dict
 * (integers as `intValue`), event name `a1.authorization`, and the
 * `trace_id`/`span_id` of `extra` as the LogRecord's trace context.
 *
 * Delivery goes through the `BufferedExporter` engine: a bounded queue,
 * batches, up to `concurrency` requests at once, retries of exactly what OTLP
 * allows (429, 502, 503, 504, network failures and timeouts) with full-jitter
 * backoff and `Retry-After`, a 413 split in halves, partial successes counted,
 * and `received === delivered + failed + dropped + pending` at every moment.
 *
 * @example
 * const exporter = new OpenTelemetryExporter({
 *   endpoint: "http://otel-collector:4318",
 *   onError: (error) => console.error(error.reason, error.records.length, error.message),
 * });
 * exporter.export(record);
 * await exporter.close();
 */
export class OpenTelemetryExporter extends BufferedExporter {
  readonly #provider: ProviderEmitter | undefined;
  readonly #onError: ((error: ExportError) => void) | undefined;

  /**
   * @param options Where and how to send (see `OpenTelemetryExporterOptions`);
   *   the standard `OTEL_*` environment variables fill what is not given.
   * @throws TypeError for an invalid endpoint, header, protocol or option
   *   combination (naming the option or variable, never a secret);
   *   RangeError for an out-of-range delivery option.
   */
  constructor(options: OpenTelemetryExporterOptions = {}) {
    const config = resolveOtelConfig(options, process.env, warnAboutEnvironment);
    const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    const timeoutMs =
      options.timeoutMs ?? (config.mode === "otlp-http" ? config.timeoutMs : undefined);
    const delivery: DeliveryOptions = {
      ...options,
      batchSize: options.batchSize ?? DEFAULT_BATCH_SIZE,
      concurrency,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    };
    const downstream =
      config.mode === "provider"
        ? new ProviderEmitter(config.provider)
        : new OtlpHttpSender(
            config,
            Number.isInteger(concurrency) && concurrency > 0 ? concurrency : 1,
          );
    super(downstream, delivery);
    this.#provider = downstream instanceof ProviderEmitter ? downstream : undefined;
    this.#onError = options.onError;
  }

  /**
   * Settles every record accepted before the call. With a `loggerProvider`,
   * then calls the provider's `forceFlush()` so that its own exporters send
   * what they hold. Never rejects.
   *
   * `close()` (inherited) runs this flush, then releases the connections; it
   * never shuts a `loggerProvider` down: the provider belongs to the
   * application.
   */
  override async flush(): Promise<void> {
    await super.flush();
    if (this.#provider === undefined) return;
    try {
      await this.#provider.forceFlush();
    } catch (error) {
      this.#report(
        new ExportError(
          `the application's LoggerProvider failed to flush: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        ),
      );
    }
  }

  #report(error: ExportError): void {
    try {
      if (this.#onError) {
        this.#onError(error);
        return;
      }
    } catch {
      // An onError that throws must not reach flush()'s caller.
    }
    process.emitWarning(`[OpenTelemetryExporter] ${error.message}`, { code: "A1_SIEM_EXPORT" });
  }
}

function warnAboutEnvironment(message: string): void {
  process.emitWarning(`[OpenTelemetryExporter] ${message}`, { code: "A1_SIEM_OTEL_ENV" });
}
