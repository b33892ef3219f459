import type { AuditRecord } from "@a1/siem-core";
import type { HrTime } from "@opentelemetry/api";
import type { Resource } from "@opentelemetry/resources";
import type { ReadableLogRecord } from "@opentelemetry/sdk-logs";
import {
  attributesOf,
  EVENT_NAME,
  eventTimeOf,
  jsonSafeAttributes,
  severityOf,
  spanContextOf,
} from "./log-record-mapping.js";
import { INSTRUMENTATION_SCOPE } from "./scope.js";

/**
 * One audit record as the SDK's `ReadableLogRecord`, the type the SDK's
 * processors hand to its exporters and its OTLP serializers read. Built
 * directly rather than through `Logger.emit()`: the same fields, without the
 * SDK's attribute-count limit (128 by default) silently dropping attributes
 * of a record with a large `extra`. `forJson`: the request will be OTLP/JSON
 * (see `jsonSafeAttributes`).
 */
export function toReadableLogRecord(
  record: AuditRecord,
  resource: Resource,
  observed: HrTime,
  forJson: boolean,
): ReadableLogRecord {
  const spanContext = spanContextOf(record);
  const attributes = attributesOf(record, spanContext !== undefined);
  return {
    hrTime: eventTimeOf(record),
    hrTimeObserved: observed,
    spanContext,
    severityNumber: severityOf(record.outcome),
    severityText: record.outcome,
    body: record.toNdjson(),
    eventName: EVENT_NAME,
    resource,
    instrumentationScope: INSTRUMENTATION_SCOPE,
    attributes: forJson ? jsonSafeAttributes(attributes, record) : attributes,
    droppedAttributesCount: 0,
  };
}
