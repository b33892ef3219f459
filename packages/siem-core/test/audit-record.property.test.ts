import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AuditRecord,
  AuditRecordError,
  type AuditRecordFields,
  CORE_WIRE_KEYS,
  MAX_TIMESTAMP_UNIX,
} from "../src/index.js";
import { expectSameRecord } from "./helpers/records.js";

// Strings with everything that tends to break serialisers: astral characters,
// line breaks of every kind, lone surrogates, NUL, quotes and backslashes.
const nasty = fc.constantFrom(
  "\n",
  "\r",
  "\u2028",
  "\u2029",
  "\u0085",
  "\u0000",
  "\ud800",
  "\udfff",
  '"',
  "\\",
  "🚀",
  "𝔄",
);
const text = fc.string({
  unit: fc.oneof(fc.string({ unit: "binary", minLength: 1, maxLength: 1 }), nasty),
  maxLength: 30,
});
const optional = fc.option(text, { nil: undefined });
// Keys JavaScript treats specially (prototype, array indices) as well as random ones.
const extraKey = fc
  .oneof(
    { weight: 4, arbitrary: text },
    {
      weight: 1,
      arbitrary: fc.constantFrom("__proto__", "constructor", "toJSON", "0", "10", "01"),
    },
  )
  .filter((key) => !CORE_WIRE_KEYS.has(key));

const fieldsArb: fc.Arbitrary<AuditRecordFields> = fc.record(
  {
    eventId: text,
    timestampUnix: fc.integer({ min: 0, max: MAX_TIMESTAMP_UNIX }),
    outcome: fc.oneof(
      fc.constantFrom("AUTHORIZED", "DENIED", "POLICY_VIOLATION", "STORAGE_ERROR"),
      text,
    ),
    principalPkHex: text,
    executorPkHex: text,
    chainDepth: fc.nat(),
    intentHex: text,
    passportNamespace: fc.option(text),
    chainFingerprint: optional,
    errorMessage: fc.option(text),
    policyName: optional,
    capabilityMaskHex: optional,
    requestId: fc.option(text),
    userAgent: optional,
    sourceIp: optional,
    extra: fc.option(fc.dictionary(extraKey, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 })),
  },
  {
    requiredKeys: [
      "eventId",
      "timestampUnix",
      "outcome",
      "principalPkHex",
      "executorPkHex",
      "chainDepth",
      "intentHex",
    ],
  },
) as fc.Arbitrary<AuditRecordFields>;

const recordArb = fieldsArb.map((fields) => new AuditRecord(fields));

/** Runs `fn`; passes if it returns, or throws an AuditRecordError; fails on anything else. */
function recordOrAuditRecordError(fn: () => AuditRecord): AuditRecord | AuditRecordError {
  try {
    const record = fn();
    expect(AuditRecord.isInstance(record)).toBe(true);
    return record;
  } catch (error) {
    if (!AuditRecordError.isInstance(error)) throw error;
    expect(typeof error.field).toBe("string");
    return error;
  }
}

const CORE_KEYS = [...CORE_WIRE_KEYS];
// Any value of any type, JSON or not.
const anyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.anything({
    maxDepth: 3,
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withObjectString: true,
    withSparseArray: true,
    withTypedArray: true,
  }),
  fc.constantFrom(-1, 0, 1.5, MAX_TIMESTAMP_UNIX, MAX_TIMESTAMP_UNIX + 1, Number.NaN, -0, null),
);
// Objects whose keys are mostly core keys, with values of random types.
const coreKeyedObject = fc.dictionary(
  fc.oneof(fc.constantFrom(...CORE_KEYS), fc.string()),
  anyValue,
  {
    maxKeys: 20,
  },
);

describe("AuditRecord properties (fast-check)", () => {
  it("fromDict(r.toDict()) equals r", () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        const back = AuditRecord.fromDict(record.toDict());
        expectSameRecord(back, record);
        expect(Object.keys(back.toDict())).toEqual(Object.keys(record.toDict()));
        expect(back.toNdjson()).toBe(record.toNdjson());
      }),
      { numRuns: 500 },
    );
  });

  it("fromDict(JSON.parse(r.toNdjson())) gives the same line back", () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        const line = record.toNdjson();
        expect(AuditRecord.fromDict(JSON.parse(line)).toNdjson()).toBe(line);
      }),
      { numRuns: 300 },
    );
  });

  it("toNdjson() never contains a raw newline (\\n or \\r)", () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        const line = record.toNdjson();
        expect(line).not.toMatch(/[\n\r]/);
        expect(JSON.stringify(record)).toBe(line);
      }),
      { numRuns: 500 },
    );
  });

  it("fromDict(any JSON value) returns a record or throws AuditRecordError, nothing else", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        recordOrAuditRecordError(() => AuditRecord.fromDict(value as never));
      }),
      { numRuns: 500 },
    );
  });

  it("fromDict(objects with core keys of random types) returns a record or throws AuditRecordError", () => {
    fc.assert(
      fc.property(coreKeyedObject, (dict) => {
        const result = recordOrAuditRecordError(() => AuditRecord.fromDict(dict));
        if (AuditRecord.isInstance(result)) {
          // Whatever was accepted serialises and parses back to itself.
          const line = result.toNdjson();
          expect(line).not.toMatch(/[\n\r]/);
          expect(AuditRecord.fromDict(JSON.parse(line)).toNdjson()).toBe(line);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("new AuditRecord(fields of random types) returns a record or throws AuditRecordError", () => {
    const camelKeys = [
      "eventId",
      "timestampUnix",
      "outcome",
      "principalPkHex",
      "executorPkHex",
      "chainDepth",
      "intentHex",
      "errorMessage",
      "sourceIp",
      "extra",
    ];
    const valid = fieldsArb.map((fields) => ({ ...fields }) as Record<string, unknown>);
    fc.assert(
      fc.property(
        valid,
        fc.dictionary(fc.constantFrom(...camelKeys), anyValue, { maxKeys: 3 }),
        (fields, broken) => {
          recordOrAuditRecordError(
            () => new AuditRecord({ ...fields, ...broken } as unknown as AuditRecordFields),
          );
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("a record never carries a core key in extra, and its outcome is always its own", () => {
    fc.assert(
      fc.property(coreKeyedObject, fc.constantFrom(...CORE_KEYS), text, (dict, key, value) => {
        const result = recordOrAuditRecordError(
          () =>
            new AuditRecord({
              eventId: "e",
              timestampUnix: 0,
              outcome: "DENIED",
              principalPkHex: "",
              executorPkHex: "",
              chainDepth: 0,
              intentHex: "",
              extra: { ...dict, [key]: value } as never,
            }),
        );
        expect(AuditRecordError.isInstance(result)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
