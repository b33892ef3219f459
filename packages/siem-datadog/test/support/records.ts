import { AuditRecord, type AuditRecordFields } from "@a1/siem-core";

const hex = (seed: number, length: number): string => {
  let out = "";
  let state = seed >>> 0 || 1;
  while (out.length < length) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    out += (state >>> 16).toString(16).padStart(4, "0");
  }
  return out.slice(0, length);
};

/** A realistic record; `i` makes its id unique. Its time is now unless given. */
export function makeRecord(i: number, fields: Partial<AuditRecordFields> = {}): AuditRecord {
  return new AuditRecord({
    eventId: `0190b7e2-${hex(i, 4)}-7${hex(i + 1, 3)}-8${hex(i + 2, 3)}-${String(i).padStart(12, "0")}`,
    timestampUnix: Math.floor(Date.now() / 1000),
    outcome: i % 10 === 9 ? "DENIED" : "AUTHORIZED",
    principalPkHex: hex(i + 3, 64),
    executorPkHex: hex(i + 4, 64),
    chainDepth: 1 + (i % 5),
    intentHex: hex(i + 5, 64),
    requestId: `req-${i}`,
    ...fields,
  });
}

export function makeRecords(count: number, from = 0): AuditRecord[] {
  return Array.from({ length: count }, (_, k) => makeRecord(from + k));
}

/** The accounting invariant of every exporter (shared by every package's suite). */
export { expectBalanced as expectAccounting } from "@a1/siem-testing";

/** Resolves when `check` returns true; polls every 5 ms; fails after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
