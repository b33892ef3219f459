export type {
  ApplicationLoggerProvider,
  OpenTelemetryExporterOptions,
  OtlpHttpProtocol,
} from "./exporter-options.js";
export { EVENT_NAME, MAX_OTLP_TIMESTAMP_UNIX } from "./log-record-mapping.js";
export { OpenTelemetryExporter } from "./opentelemetry-exporter.js";
