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
 * `{"time":<seconds>,"host"?,"source","sourcetype","index"?,"event":<record>}`,
 * byte for byte what `JSON.stringify` gives for that object.
 *
 * The metadata between `time` and `event` is the same for every record, so it
 * is serialised once here; per record this costs the record's own NDJSON
 * (cached on the record, so a fan-out to several exporters serialises once)
 * and two concatenations.
 */
export function envelopeEncoder(fields: EnvelopeFields): (record: AuditRecord) => string {
  let middle = "";
  if (fields.host !== undefined) middle += `,"host":${JSON.stringify(fields.host)}`;
  middle += `,"source":${JSON.stringify(fields.source)}`;
  middle += `,"sourcetype":${JSON.stringify(fields.sourcetype)}`;
  if (fields.index !== undefined) middle += `,"index":${JSON.stringify(fields.index)}`;
  middle += `,"event":`;
  // timestampUnix is a validated safe integer: its decimal form is valid JSON.
  return (record) => `{"time":${record.timestampUnix}${middle}${record.toNdjson()}}`;
}
