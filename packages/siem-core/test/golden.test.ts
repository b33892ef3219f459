import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AuditRecord, AuditRecordError, type AuditRecordFields } from "../src/index.js";
import { expectSameRecord, jsKeyOrder } from "./helpers/records.js";

// Fixtures made by scripts/make-golden-fixtures.py from the Python reference
// (../shared/reference/a1_siem.py): for each input, the reference's
// AuditRecord.from_dict(input).to_dict() and .to_ndjson().
interface GoldenCase {
  name: string;
  input: Record<string, unknown>;
  dict: Record<string, unknown>;
  dict_keys: string[];
  ndjson: string;
}
interface DivergentCase {
  name: string;
  fields: Record<string, unknown>;
  extra: Record<string, unknown>;
  field: string;
  reference_dict: Record<string, unknown>;
}
const golden = JSON.parse(
  readFileSync(new URL("./fixtures/golden.json", import.meta.url), "utf8"),
) as { cases: GoldenCase[]; divergent: DivergentCase[] };

/** Values and key order at every depth: two JSON texts of equal data in equal order. */
function canonical(value: unknown): string {
  return JSON.stringify(value);
}

describe("golden: AuditRecord matches the Python reference", () => {
  it("has a varied set of cases", () => {
    expect(golden.cases.length).toBeGreaterThan(60);
    const names = golden.cases.map((c) => c.name);
    for (const needed of [
      "unicode-astral",
      "line-separators-and-controls",
      "null-optionals-are-absent",
      "empty-input-takes-defaults",
      "rust-audit-event-batch",
      "timestamp-max",
      "extras-with-javascript-special-names",
    ]) {
      expect(names).toContain(needed);
    }
  });

  describe.each(golden.cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    // Built inside each test so that one bad case fails its own tests only.
    const parse = () => AuditRecord.fromDict(c.input);

    it("toDict() parses equal to the reference's to_dict()", () => {
      const dict = parse().toDict();
      expect(dict).toStrictEqual(c.dict);
      expect(canonical(dict)).toBe(canonical(c.dict));
    });

    it("toDict() keys come in the reference's order (array-index keys first in JS)", () => {
      expect(Object.keys(parse().toDict())).toEqual(jsKeyOrder(c.dict_keys));
    });

    it("toNdjson() parses equal to the reference's to_ndjson(), same key order", () => {
      const line = parse().toNdjson();
      expect(line).not.toMatch(/[\n\r]/);
      const ours = JSON.parse(line);
      const theirs = JSON.parse(c.ndjson);
      expect(ours).toStrictEqual(theirs);
      expect(canonical(ours)).toBe(canonical(theirs));
      expect(Object.keys(ours)).toEqual(jsKeyOrder(c.dict_keys));
    });

    it("JSON.stringify(record) is toNdjson()", () => {
      const record = parse();
      expect(JSON.stringify(record)).toBe(record.toNdjson());
    });

    it("round-trips: fromDict(toDict()) equals the record", () => {
      const record = parse();
      expectSameRecord(AuditRecord.fromDict(record.toDict()), record);
      expect(AuditRecord.fromDict(JSON.parse(record.toNdjson())).toNdjson()).toBe(
        record.toNdjson(),
      );
    });
  });

  it("differs from the reference only where the reference lets extra override a core key", () => {
    expect(golden.divergent.length).toBeGreaterThan(0);
    for (const c of golden.divergent) {
      const camel = Object.fromEntries(
        Object.entries(c.fields).map(([k, v]) => [
          k.replace(/_([a-z])/g, (_m, ch: string) => ch.toUpperCase()),
          v,
        ]),
      );
      const fields = { ...camel, extra: c.extra } as unknown as AuditRecordFields;
      let thrown: unknown;
      try {
        new AuditRecord(fields);
      } catch (error) {
        thrown = error;
      }
      expect(AuditRecordError.isInstance(thrown), c.name).toBe(true);
      expect((thrown as AuditRecordError).field).toBe(c.field);
      // What the reference did instead: the extra value replaced the core one.
      const [key] = Object.keys(c.extra);
      expect(c.reference_dict[key!]).toBe(c.extra[key!]);
    }
  });
});
