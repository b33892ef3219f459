import type { AuditRecord } from "@a1/siem-core";
import { type HrTime, type SpanContext, TraceFlags } from "@opentelemetry/api";
import { type LogAttributes, SeverityNumber } from "@opentelemetry/api-logs";

/**
 * The LogRecord `EventName` of every audit record. The `event.name`
 * attribute is deprecated in the semantic conventions; the name goes in the
 * LogRecord's own field.
 */
export const EVENT_NAME = "a1.authorization";

/**
 * The latest `timestamp_unix` whose nanoseconds fit in OTLP's `fixed64`
 * `time_unix_nano` (2^64 - 1 ns is 2554-07-21T23:34:33Z). A later record is
 * sent with time 0 ("unknown" in OTLP) rather than a wrapped, wrong time; its
 * own time stays in the attributes and the body.
 */
export const MAX_OTLP_TIMESTAMP_UNIX = 18_446_744_073;

const UNKNOWN_TIME: HrTime = [0, 0];

/** INFO for an authorized action, WARN for every other outcome. */
export function severityOf(outcome: string): SeverityNumber {
  return outcome === "AUTHORIZED" ? SeverityNumber.INFO : SeverityNumber.WARN;
}

/**
 * The record's time as an HrTime of whole seconds: the SDK's serializers turn
 * `[seconds, 0]` into `seconds * 1e9` nanoseconds with integer arithmetic, so
 * the wire carries the exact value (milliseconds as a float would not be).
 */
export function eventTimeOf(record: AuditRecord): HrTime {
  return record.timestampUnix <= MAX_OTLP_TIMESTAMP_UNIX ? [record.timestampUnix, 0] : UNKNOWN_TIME;
}

/** Now, as an HrTime (for `observedTimestamp`). */
export function hrTimeNow(): HrTime {
  const ms = Date.now();
  const seconds = Math.floor(ms / 1000);
  return [seconds, (ms - seconds * 1000) * 1_000_000];
}

const TRACE_ID = /^[0-9a-f]{32}$/i;
const SPAN_ID = /^[0-9a-f]{16}$/i;
const ZEROS = /^0+$/;

/**
 * The trace context in the record's `extra` (`trace_id`: 32 hex digits,
 * `span_id`: 16 hex digits, neither all zeros, as W3C Trace Context and OTLP
 * require), or undefined when either is missing or malformed: then both stay
 * plain attributes.
 */
export function spanContextOf(record: AuditRecord): SpanContext | undefined {
  const traceId = record.extra.trace_id;
  const spanId = record.extra.span_id;
  if (
    typeof traceId !== "string" ||
    typeof spanId !== "string" ||
    !TRACE_ID.test(traceId) ||
    !SPAN_ID.test(spanId) ||
    ZEROS.test(traceId) ||
    ZEROS.test(spanId)
  ) {
    return undefined;
  }
  // The record does not say whether the trace was sampled: flags 0.
  return {
    traceId: traceId.toLowerCase(),
    spanId: spanId.toLowerCase(),
    traceFlags: TraceFlags.NONE,
  };
}

/**
 * The record's wire dict as LogRecord attributes. Integers stay integers
 * (OTLP `intValue`), nested `extra` objects become `kvlistValue`s. A
 * `trace_id`/`span_id` pair that became the LogRecord's trace context is not
 * repeated as attributes.
 */
export function attributesOf(record: AuditRecord, promotedTraceContext: boolean): LogAttributes {
  const attributes = record.toDict() as LogAttributes;
  if (promotedTraceContext) {
    delete attributes.span_id;
    delete attributes.trace_id;
  }
  return attributes;
}

/** 2^63: an integer at or beyond it (in magnitude) is no OTLP `int64`. */
const INT64_LIMIT = 2 ** 63;

/**
 * For OTLP/JSON only: the SDK's JSON serializer writes every integral number
 * as `intValue`, also one outside int64 (`1e+300`), which a receiver refuses
 * with 400 — failing the whole batch. Such a number (only possible in
 * `extra`) is sent as its JSON text instead. The protobuf serializer sends
 * it as `doubleValue` and needs no help.
 */
export function jsonSafeAttributes(attributes: LogAttributes, record: AuditRecord): LogAttributes {
  for (const key of Object.keys(record.extra)) {
    if (key in attributes && hasHugeInteger(attributes[key])) {
      attributes[key] = replaceHugeIntegers(attributes[key]) as LogAttributes[string];
    }
  }
  return attributes;
}

function isHugeInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && Math.abs(value) >= INT64_LIMIT;
}

function hasHugeInteger(value: unknown): boolean {
  if (isHugeInteger(value)) return true;
  if (typeof value !== "object" || value === null) return false;
  return Object.values(value).some(hasHugeInteger);
}

function replaceHugeIntegers(value: unknown): unknown {
  if (isHugeInteger(value)) return JSON.stringify(value);
  if (Array.isArray(value)) return value.map(replaceHugeIntegers);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, replaceHugeIntegers(item)]),
    );
  }
  return value;
}
