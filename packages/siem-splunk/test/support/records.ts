import { AuditRecord, type AuditRecordFields } from "@a1/siem-core";

const hex = (seed: number, length: number): string => {
  let out = "";
  let state = (seed * 2654435761) >>> 0;
  while (out.length < length) {
    state = (state * 1103515245 + 12345) >>> 0;
    out += state.toString(16).padStart(8, "0");
  }
  return out.slice(0, length);
};

/** A realistic record whose `eventId` is `evt-<i>`. */
export function makeRecord(i: number, overrides: Partial<AuditRecordFields> = {}): AuditRecord {
  return new AuditRecord({
    eventId: `evt-${i}`,
    timestampUnix: 1_733_300_000 + i,
    outcome: i % 10 === 0 ? "DENIED" : "AUTHORIZED",
    principalPkHex: hex(i, 64),
    executorPkHex: hex(i + 1, 64),
    chainDepth: 1 + (i % 5),
    intentHex: hex(i + 2, 64),
    passportNamespace: "trading-agents",
    requestId: `req-${i}`,
    ...(i % 10 === 0 ? { errorMessage: "capability not granted", policyName: "max-notional" } : {}),
    extra: { trace_id: hex(i + 3, 32) },
    ...overrides,
  });
}

export function makeRecords(count: number, from = 0): AuditRecord[] {
  return Array.from({ length: count }, (_, i) => makeRecord(from + i));
}
