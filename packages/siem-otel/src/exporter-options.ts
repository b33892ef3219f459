import type { NetworkExporterOptions } from "@a1/siem-core";
import type { Logger } from "@opentelemetry/api-logs";

/** The OTLP/HTTP encodings this exporter speaks. gRPC is not supported. */
export type OtlpHttpProtocol = "http/protobuf" | "http/json";

/**
 * An application's own OpenTelemetry `LoggerProvider`: the SDK's, or any
 * implementation of the API's `LoggerProvider` interface.
 */
export interface ApplicationLoggerProvider {
  /** Called once, with this package's name and version as the instrumentation scope. */
  getLogger(name: string, version?: string): Logger;
  /** Called by the exporter's `flush()` and `close()` when the provider has it (the SDK's has). */
  forceFlush?(): Promise<void>;
}

/**
 * Options of `OpenTelemetryExporter`: where and how to send, plus every
 * delivery option shared by the network exporters (`batchSize`,
 * `maxQueueSize`, `retry`, `onError`, …). Options win over the OpenTelemetry
 * environment variables, which win over the defaults.
 */
export interface OpenTelemetryExporterOptions extends NetworkExporterOptions {
  /**
   * Base URL of the OTLP/HTTP receiver; logs are POSTed to `endpoint +
   * "/v1/logs"`. Falls back to `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` (used as
   * is), then `OTEL_EXPORTER_OTLP_ENDPOINT` (+ `/v1/logs`).
   * @default "http://localhost:4318"
   */
  readonly endpoint?: string;
  /**
   * The Resource's `service.name`. Falls back to `OTEL_SERVICE_NAME`, then a
   * `service.name` in `OTEL_RESOURCE_ATTRIBUTES`.
   * @default "a1"
   */
  readonly serviceName?: string;
  /**
   * More Resource attributes (`deployment.environment.name`, …), merged over
   * `OTEL_RESOURCE_ATTRIBUTES`.
   */
  readonly resourceAttributes?: Readonly<Record<string, string | number | boolean>>;
  /**
   * HTTP headers of every request, typically credentials
   * (`{ authorization: "Bearer …" }`). Merged over `OTEL_EXPORTER_OTLP_HEADERS`
   * and `OTEL_EXPORTER_OTLP_LOGS_HEADERS`. Never shown in errors, warnings or
   * `stats()`.
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Request encoding. Falls back to `OTEL_EXPORTER_OTLP_LOGS_PROTOCOL`, then
   * `OTEL_EXPORTER_OTLP_PROTOCOL`. JSON is what the JS SDK's OTLP/HTTP log
   * exporter sends and costs less CPU per record with the SDK's serializers;
   * protobuf is about 30 % fewer bytes.
   * @default "http/json"
   */
  readonly protocol?: OtlpHttpProtocol;
  /**
   * Send through the application's own `LoggerProvider` instead of over
   * OTLP/HTTP: each record is emitted on a logger of that provider. The
   * options that describe the connection or the Resource (`endpoint`,
   * `headers`, `protocol`, `compression`, `tls`, `serviceName`,
   * `resourceAttributes`) belong to the provider then and are refused here.
   */
  readonly loggerProvider?: ApplicationLoggerProvider;
}
