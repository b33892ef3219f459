import { AuditRecord, type AuditRecordFields, MAX_TIMESTAMP_UNIX } from "@a1/siem-core";
import fc from "fast-check";

export const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
export const SPAN_ID = "b7ad6b7169203331";

/** A realistic DENIED record with every optional field, trace context in `extra`. */
export function deniedRecord(overrides: Partial<AuditRecordFields> = {}): AuditRecord {
  return new AuditRecord({
    eventId: "0190b7e2-7c1d-7a55-9f00-1234567890ab",
    timestampUnix: 1_733_300_000,
    outcome: "DENIED",
    principalPkHex: "a".repeat(64),
    executorPkHex: "b".repeat(64),
    chainDepth: 3,
    intentHex: "c".repeat(64),
    passportNamespace: "trading-agents",
    chainFingerprint: "d".repeat(64),
    errorMessage: "capability not granted",
    policyName: "max-notional",
    capabilityMaskHex: "ff00",
    requestId: "req-1",
    userAgent: "agent/1.0",
    sourceIp: "10.0.0.7",
    extra: {
      trace_id: TRACE_ID,
      span_id: SPAN_ID,
      batch_size: 4,
      ratio: 0.25,
      approved: false,
      tags: ["a", 1, true, null],
      nested: { level: 2, name: "x" },
    },
    ...overrides,
  });
}

/** `count` small AUTHORIZED records with ids `prefix-0` … */
export function manyRecords(count: number, prefix = "r"): AuditRecord[] {
  return Array.from(
    { length: count },
    (_, i) =>
      new AuditRecord({
        eventId: `${prefix}-${i}`,
        timestampUnix: 1_733_300_000 + i,
        outcome: i % 10 === 0 ? "DENIED" : "AUTHORIZED",
        principalPkHex: "ab",
        executorPkHex: "cd",
        chainDepth: i % 5,
        intentHex: "ef",
      }),
  );
}

const hexString = (length: number) =>
  fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: length, maxLength: length });

/** JSON values an `extra` may hold (no -0: JSON turns it into 0). */
const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), tie("value"), { maxKeys: 3 }),
  ),
})).value;

/** Any valid record, including odd outcomes, extra values and (in)valid trace ids. */
export const arbitraryRecord: fc.Arbitrary<AuditRecord> = fc
  .record({
    eventId: fc.string(),
    timestampUnix: fc.oneof(
      fc.integer({ min: 0, max: 2 ** 32 }),
      fc.integer({ min: 0, max: MAX_TIMESTAMP_UNIX }),
    ),
    outcome: fc.oneof(
      fc.constantFrom("AUTHORIZED", "DENIED", "POLICY_VIOLATION", "STORAGE_ERROR"),
      fc.string(),
    ),
    principalPkHex: hexString(64),
    executorPkHex: hexString(64),
    chainDepth: fc.nat({ max: 1000 }),
    intentHex: hexString(64),
    errorMessage: fc.option(fc.string(), { nil: undefined }),
    sourceIp: fc.option(fc.ipV4(), { nil: undefined }),
    trace: fc.oneof(
      fc.constant(undefined),
      fc.record({ trace_id: hexString(32), span_id: hexString(16) }),
      fc.record({ trace_id: fc.string({ maxLength: 40 }), span_id: fc.string({ maxLength: 20 }) }),
    ),
    more: fc.dictionary(
      fc.string({ minLength: 1, maxLength: 10 }).filter((k) => !/^(trace_id|span_id)$/.test(k)),
      jsonValue,
      { maxKeys: 4 },
    ),
  })
  .filter(({ more }) =>
    Object.keys(more).every(
      (key) =>
        ![
          "event_id",
          "timestamp_unix",
          "timestamp_iso",
          "outcome",
          "principal_pk_hex",
          "executor_pk_hex",
          "chain_depth",
          "intent_hex",
          "passport_namespace",
          "chain_fingerprint",
          "error_message",
          "policy_name",
          "capability_mask_hex",
          "request_id",
          "user_agent",
          "source_ip",
          "__proto__",
        ].includes(key),
    ),
  )
  .map(
    ({ trace, more, errorMessage, sourceIp, ...fields }) =>
      new AuditRecord({
        ...fields,
        ...(errorMessage === undefined ? {} : { errorMessage }),
        ...(sourceIp === undefined ? {} : { sourceIp }),
        extra: { ...more, ...trace },
      }),
  );
