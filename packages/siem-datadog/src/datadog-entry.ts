import type { AuditRecord } from "@a1/siem-core";

/**
 * The attribute that carries the authorization time, in epoch milliseconds.
 * `timestamp` is the first of the attributes Datadog's date remapper reads by
 * default (timestamp, date, _timestamp, Timestamp, eventTime, published_date:
 * https://docs.datadoghq.com/logs/log_configuration/processors/log_date_remapper/)
 * and no wire field of a record uses it (`timestamp_unix`, `timestamp_iso`).
 */
export const DATE_ATTRIBUTE = "timestamp";

/**
 * Attributes the exporter writes on every entry. An `extra` key of the same
 * name is left out of the entry's top level (it stays in `message`, which
 * holds the whole record).
 */
export const RESERVED_ATTRIBUTES: ReadonlySet<string> = new Set([
  DATE_ATTRIBUTE,
  "ddsource",
  "ddtags",
  "hostname",
  "service",
  "status",
  "message",
]);

/** What every entry of one exporter shares. */
export interface EntryConstants {
  readonly source: string;
  readonly service: string;
  readonly hostname: string;
  /** Comma-separated `key:value` tags; omitted from the entry when empty. */
  readonly tags: string;
}

/**
 * Builds the JSON of one intake entry:
 *
 * `{"timestamp":<ms>,"ddsource":…,"ddtags":…,"hostname":…,"service":…,"status":"info"|"warn","message":<NDJSON line>,<wire fields>}`
 *
 * The date comes first so that it can be dropped by slicing (`dateEnd`), without
 * serialising the record again.
 */
export class DatadogEntryEncoder {
  /** `,"ddsource":…,"hostname":…,"service":…,"status":`: the same on every entry. */
  readonly #head: string;

  constructor(constants: EntryConstants) {
    let head = `,"ddsource":${JSON.stringify(constants.source)}`;
    if (constants.tags !== "") head += `,"ddtags":${JSON.stringify(constants.tags)}`;
    head += `,"hostname":${JSON.stringify(constants.hostname)}`;
    head += `,"service":${JSON.stringify(constants.service)},"status":`;
    this.#head = head;
  }

  encode(record: AuditRecord): string {
    const line = record.toNdjson();
    // The wire fields are the NDJSON line without its braces, unless `extra`
    // uses a reserved name: then those keys are left out of the top level.
    const fields = hasReservedKey(record.extra) ? withoutReserved(record) : line;
    return (
      `{"${DATE_ATTRIBUTE}":${record.timestampUnix * 1000}${this.#head}` +
      `${record.outcome === "AUTHORIZED" ? '"info"' : '"warn"'},"message":${JSON.stringify(line)},` +
      fields.slice(1)
    );
  }
}

/**
 * Where the date attribute of an entry ends: the index of the comma after it.
 * The date is the first key and an integer, so the first comma ends it and
 * `{` + `entry.slice(dateEnd(entry) + 1)` is the entry without it (Datadog
 * then stamps the entry with the time it receives it). The bytes before the
 * comma are ASCII: as many bytes as characters.
 */
export function dateEnd(entry: string): number {
  return entry.indexOf(",");
}

function hasReservedKey(extra: Readonly<Record<string, unknown>>): boolean {
  for (const key in extra) if (RESERVED_ATTRIBUTES.has(key)) return true;
  return false;
}

function withoutReserved(record: AuditRecord): string {
  const dict = record.toDict();
  for (const key of RESERVED_ATTRIBUTES) delete dict[key];
  return JSON.stringify(dict);
}
