// Datadog's intake limits, from "Send logs"
// (https://docs.datadoghq.com/api/latest/logs/send-logs/) unless noted. "MB"
// is read as 10^6 bytes, the smaller reading, so that neither reading is
// exceeded.

/** Most entries in one request's JSON array. */
export const MAX_ENTRIES_PER_REQUEST = 1000;

/** Most bytes of one request body before compression. Above it Datadog answers 413. */
export const MAX_PAYLOAD_BYTES = 5_000_000;

/**
 * Default target size of one request body: the batch size Datadog's own
 * Observability Pipelines use for this intake (4,250,000 bytes, "Datadog Logs
 * Destination", https://docs.datadoghq.com/observability_pipelines/destinations/datadog_logs/),
 * leaving headroom under the 5 MB limit.
 */
export const DEFAULT_BATCH_BYTES = 4_250_000;

/**
 * Largest entry sent. Datadog truncates a log above 1 MB and still answers
 * 2xx, so the exporter drops such a record as "oversize" before sending.
 */
export const MAX_ENTRY_BYTES = 1_000_000;

/**
 * How far in the past Datadog accepts a log's time: 18 h ("Send logs"; "Log
 * Date Remapper",
 * https://docs.datadoghq.com/logs/log_configuration/processors/log_date_remapper/).
 */
export const DATADOG_MAX_PAST_MS = 18 * 3600_000;

/** How far in the future Datadog accepts a log's time: 2 h ("Log Date Remapper"). */
export const DATADOG_MAX_FUTURE_MS = 2 * 3600_000;

/**
 * Safety margin inside Datadog's window, for clock skew between this host and
 * Datadog and for the time a request spends in flight.
 */
export const DATE_WINDOW_MARGIN_MS = 3600_000;

/**
 * A record whose time is more than this before the moment of the attempt
 * (17 h) is sent without the date attribute: Datadog stamps it on receipt.
 */
export const STAMP_PAST_LIMIT_MS = DATADOG_MAX_PAST_MS - DATE_WINDOW_MARGIN_MS;

/**
 * A record whose time is more than this after the moment of the attempt
 * (1 h) is sent without the date attribute: Datadog stamps it on receipt.
 */
export const STAMP_FUTURE_LIMIT_MS = DATADOG_MAX_FUTURE_MS - DATE_WINDOW_MARGIN_MS;
