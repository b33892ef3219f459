export {
  type AuditOutcome,
  AuditRecord,
  type AuditRecordDict,
  type AuditRecordFields,
  CORE_WIRE_KEYS,
  type JsonObject,
  type JsonValue,
  MAX_TIMESTAMP_UNIX,
} from "./audit-record.js";
export { AuditRecordError } from "./audit-record-error.js";
export { BufferedExporter } from "./buffered-exporter.js";
export {
  CompositeExporter,
  type CompositeExporterOptions,
  type CompositeExporterStats,
} from "./composite-exporter.js";
export { ConfigurationAlarm, type ConfigurationAlarmOptions } from "./configuration-alarm.js";
export type {
  BackendLimits,
  DeliveryOptions,
  NetworkExporterOptions,
  OverflowPolicy,
  RetryOptions,
  TlsOptions,
} from "./delivery-options.js";
export { ErrorReporter, type ErrorReporterOptions } from "./error-reporter.js";
export { ExportError, type ExportErrorOptions, type ExportFailureReason } from "./export-error.js";
export type {
  AuditExporter,
  BatchExporter,
  ErrorHandler,
  ExportBatchOptions,
  ExporterStats,
  PartialBatchResult,
} from "./exporter.js";
export {
  errorCode,
  gzipBody,
  isRetryableStatus,
  MAX_RETRY_AFTER_MS,
  networkExportError,
  parseRetryAfter,
  pickRecords,
  readTextUpTo,
  redact,
  type TlsConnectOptions,
  tlsConnectOptions,
} from "./http-answers.js";
export type { SpoolFsync, SpoolOptions } from "./spool-options.js";
