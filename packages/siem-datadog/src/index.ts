export type { ConfigurationProblem } from "./configuration-alarm.js";
export { DATE_ATTRIBUTE, RESERVED_ATTRIBUTES } from "./datadog-entry.js";
export {
  DATADOG_MAX_FUTURE_MS,
  DATADOG_MAX_PAST_MS,
  DEFAULT_BATCH_BYTES,
  MAX_ENTRIES_PER_REQUEST,
  MAX_ENTRY_BYTES,
  MAX_PAYLOAD_BYTES,
  STAMP_FUTURE_LIMIT_MS,
  STAMP_PAST_LIMIT_MS,
} from "./datadog-limits.js";
export { DatadogLogExporter } from "./datadog-log-exporter.js";
export type {
  DatadogExporterStats,
  DatadogLogExporterOptions,
} from "./datadog-log-exporter-options.js";
export { DATADOG_SITES, type DatadogSite } from "./datadog-sites.js";
export type { DatadogHealth } from "./health-check.js";
