import { crc32 } from "node:zlib";
import { AuditRecord } from "./audit-record.js";

// One spooled record is one line: 8 hex digits of the CRC-32 of the JSON,
// a space, the record's NDJSON, a newline. A line that lacks its newline (a
// torn write) or whose checksum or JSON does not match (a corrupt sector) is
// recognised on reading and skipped, never half-parsed.

/** The frame of one record, ready to append. */
export function encodeFrame(record: AuditRecord): string {
  const json = record.toNdjson();
  return `${crc32(json).toString(16).padStart(8, "0")} ${json}\n`;
}

/** The record in one line (without its newline), or undefined when the line is corrupt. */
export function decodeFrame(line: string): AuditRecord | undefined {
  if (line.length < 10 || line.charCodeAt(8) !== 32) return undefined;
  const json = line.slice(9);
  if (Number.parseInt(line.slice(0, 8), 16) !== crc32(json)) return undefined;
  try {
    return AuditRecord.fromDict(JSON.parse(json));
  } catch {
    return undefined;
  }
}
