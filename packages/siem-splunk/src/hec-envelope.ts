import type { AuditRecord } from "@a1/siem-core";

/** The metadata every event of one exporter carries. */
export interface EnvelopeFields {
  readonly host: string | undefined;
  readonly source: string;
  readonly sourcetype: string;
  readonly index: string | undefined;
}

/**
 * Makes the function that turns a record into its HEC event envelope:
 * `{"time":<seconds>,"host"?,"source","sourcetype","index"?,"event":<record>}`.
 *
 * One `JSON.stringify` of the envelope object (the record serialises through
 * its `toJSON()`), one variant per metadata shape so that each stays
 * monomorphic. Measured (bench/, group "splunk"), this beats concatenating a
 * prefix with the record's cached `toNdjson()`: the concatenation makes a
 * rope that the engine must flatten to measure it, and the cache keeps every
 * record's JSON alive after delivery; together about 2 µs per record more.
 */
export function envelopeEncoder(fields: EnvelopeFields): (record: AuditRecord) => string {
  const { host, source, sourcetype, index } = fields;
  if (host === undefined && index === undefined) {
    return (record) =>
      JSON.stringify({ time: record.timestampUnix, source, sourcetype, event: record });
  }
  if (index === undefined) {
    return (record) =>
      JSON.stringify({ time: record.timestampUnix, host, source, sourcetype, event: record });
  }
  if (host === undefined) {
    return (record) =>
      JSON.stringify({ time: record.timestampUnix, source, sourcetype, index, event: record });
  }
  return (record) =>
    JSON.stringify({ time: record.timestampUnix, host, source, sourcetype, index, event: record });
}
