import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import {
  AuditRecord,
  AuditRecordError,
  type AuditRecordFields,
  CORE_WIRE_KEYS,
  MAX_TIMESTAMP_UNIX,
} from "../src/index.js";
import { expectSameRecord } from "./helpers/records.js";

const FIELDS: AuditRecordFields = {
  eventId: "0190b7e2-7a3c-7d4e-9f10-4b5c6d7e8f90",
  timestampUnix: 1_733_300_000,
  outcome: "DENIED",
  principalPkHex: "a1".repeat(32),
  executorPkHex: "b2".repeat(32),
  chainDepth: 2,
  intentHex: "c3".repeat(32),
};

/** Builds a record from `fields` and returns the AuditRecordError it throws (fails if none). */
function errorOf(build: () => unknown): AuditRecordError {
  try {
    build();
  } catch (error) {
    expect(AuditRecordError.isInstance(error)).toBe(true);
    expect(error).toBeInstanceOf(AuditRecordError);
    return error as AuditRecordError;
  }
  throw new Error("expected an AuditRecordError, nothing was thrown");
}

function withFields(overrides: Record<string, unknown>): () => AuditRecord {
  return () => new AuditRecord({ ...FIELDS, ...overrides } as AuditRecordFields);
}

describe("new AuditRecord()", () => {
  it("keeps the camelCase fields and derives the ISO timestamp", () => {
    const record = new AuditRecord({ ...FIELDS, errorMessage: "no", sourceIp: "10.0.0.1" });
    expect(record.eventId).toBe(FIELDS.eventId);
    expect(record.timestampUnix).toBe(1_733_300_000);
    expect(record.timestampIso).toBe("2024-12-04T08:13:20Z");
    expect(record.outcome).toBe("DENIED");
    expect(record.chainDepth).toBe(2);
    expect(record.errorMessage).toBe("no");
    expect(record.sourceIp).toBe("10.0.0.1");
    expect(record.extra).toEqual({});
  });

  it("writes the wire dict with keys in the reference's order", () => {
    const record = new AuditRecord({
      ...FIELDS,
      // Given out of order on purpose: the output order is fixed.
      sourceIp: "10.0.0.1",
      userAgent: "ua",
      requestId: "r",
      capabilityMaskHex: "ff",
      policyName: "p",
      errorMessage: "e",
      chainFingerprint: "cf",
      passportNamespace: "ns",
      extra: { zeta: 1, alpha: { b: 2, a: 1 } },
    });
    expect(Object.keys(record.toDict())).toEqual([
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
      "zeta",
      "alpha",
    ]);
    expect(record.toDict()["alpha"]).toEqual({ b: 2, a: 1 });
  });

  it("puts array-index-like extra keys first (the one allowed departure from the reference)", () => {
    const record = new AuditRecord({ ...FIELDS, extra: { b: 1, "10": 2, "2": 3, "01": 4 } });
    const keys = Object.keys(record.toDict());
    expect(keys.slice(0, 2)).toEqual(["2", "10"]);
    expect(keys.slice(-2)).toEqual(["b", "01"]);
  });

  describe("optional fields", () => {
    it("treats null (Rust's None) as absent", () => {
      const record = new AuditRecord({
        ...FIELDS,
        passportNamespace: null,
        chainFingerprint: null,
        errorMessage: null,
        policyName: null,
        capabilityMaskHex: null,
        requestId: null,
        userAgent: null,
        sourceIp: null,
        extra: null,
      });
      expect("errorMessage" in record).toBe(false);
      expect(record.errorMessage).toBeUndefined();
      expect(Object.keys(record.toDict())).toHaveLength(8);
      expect(record.toNdjson()).not.toContain("null");
    });

    it("keeps empty strings (they are set, unlike null)", () => {
      const record = new AuditRecord({ ...FIELDS, errorMessage: "", policyName: "" });
      expect(record.toDict()).toMatchObject({ error_message: "", policy_name: "" });
    });

    it.each([
      ["passportNamespace", "passport_namespace"],
      ["chainFingerprint", "chain_fingerprint"],
      ["errorMessage", "error_message"],
      ["policyName", "policy_name"],
      ["capabilityMaskHex", "capability_mask_hex"],
      ["requestId", "request_id"],
      ["userAgent", "user_agent"],
      ["sourceIp", "source_ip"],
    ])("%s of the wrong type names %s", (prop, wire) => {
      for (const bad of [5, true, {}, [], 1n]) {
        expect(errorOf(withFields({ [prop]: bad })).field).toBe(wire);
      }
    });
  });

  describe("required fields at run time", () => {
    it.each([
      ["eventId", "event_id"],
      ["timestampUnix", "timestamp_unix"],
      ["outcome", "outcome"],
      ["principalPkHex", "principal_pk_hex"],
      ["executorPkHex", "executor_pk_hex"],
      ["chainDepth", "chain_depth"],
      ["intentHex", "intent_hex"],
    ])("a missing or null %s throws naming %s", (prop, wire) => {
      const { [prop as keyof AuditRecordFields]: _omitted, ...rest } = FIELDS;
      const missing = errorOf(() => new AuditRecord(rest as AuditRecordFields));
      expect(missing.field).toBe(wire);
      expect(missing.message).toContain(wire);
      expect(errorOf(withFields({ [prop]: null })).field).toBe(wire);
    });

    it.each([
      ["eventId", "event_id"],
      ["outcome", "outcome"],
      ["principalPkHex", "principal_pk_hex"],
      ["executorPkHex", "executor_pk_hex"],
      ["intentHex", "intent_hex"],
    ])("a non-string %s throws naming %s", (prop, wire) => {
      for (const bad of [1, false, {}, ["x"], Symbol("s")]) {
        expect(errorOf(withFields({ [prop]: bad })).field).toBe(wire);
      }
    });

    it("rejects a fields argument that is not an object", () => {
      for (const bad of [undefined, null, "x", 1]) {
        expect(errorOf(() => new AuditRecord(bad as unknown as AuditRecordFields)).field).toBe(
          "record",
        );
      }
    });
  });

  describe("timestamp_unix", () => {
    it("accepts 0 and 253402300799 (9999-12-31T23:59:59Z)", () => {
      expect(new AuditRecord({ ...FIELDS, timestampUnix: 0 }).timestampIso).toBe(
        "1970-01-01T00:00:00Z",
      );
      expect(MAX_TIMESTAMP_UNIX).toBe(253_402_300_799);
      const max = new AuditRecord({ ...FIELDS, timestampUnix: MAX_TIMESTAMP_UNIX });
      expect(max.timestampIso).toBe("9999-12-31T23:59:59Z");
      expect(max.toDict()["timestamp_iso"]).toBe("9999-12-31T23:59:59Z");
    });

    it.each([
      ["one past the maximum", MAX_TIMESTAMP_UNIX + 1],
      ["negative", -1],
      ["fractional", 1.5],
      ["NaN", Number.NaN],
      ["Infinity", Number.POSITIVE_INFINITY],
      ["unsafe", 2 ** 53],
      ["a numeric string", "1733300000"],
      ["a BigInt", 1_733_300_000n],
      ["a Date", new Date()],
    ])("rejects %s", (_label, value) => {
      const error = errorOf(withFields({ timestampUnix: value }));
      expect(error.field).toBe("timestamp_unix");
    });
  });

  describe("chain_depth", () => {
    it.each([-1, 0.5, Number.NaN, "2", 2n, 2 ** 53])("rejects %s", (value) => {
      expect(errorOf(withFields({ chainDepth: value })).field).toBe("chain_depth");
    });

    it("accepts 0", () => {
      expect(new AuditRecord({ ...FIELDS, chainDepth: 0 }).chainDepth).toBe(0);
    });
  });

  describe("extra", () => {
    it("can never override a core wire key, timestamp_iso included", () => {
      expect(CORE_WIRE_KEYS.has("timestamp_iso")).toBe(true);
      expect(CORE_WIRE_KEYS.size).toBe(16);
      for (const key of CORE_WIRE_KEYS) {
        const error = errorOf(withFields({ extra: { [key]: "AUTHORIZED" } }));
        expect(error.field).toBe(`extra.${key}`);
      }
    });

    it("a DENIED record cannot be shipped as AUTHORIZED", () => {
      const error = errorOf(withFields({ outcome: "DENIED", extra: { outcome: "AUTHORIZED" } }));
      expect(error.field).toBe("extra.outcome");
      expect(error.message).toMatch(/extra\.outcome/);
    });

    it.each([
      ["BigInt", { n: 1n }, "extra.n"],
      ["nested BigInt", { a: { b: [1, 2n] } }, "extra.a.b[1]"],
      ["function", { f: () => 1 }, "extra.f"],
      ["symbol", { s: Symbol("s") }, "extra.s"],
      ["undefined value", { u: undefined }, "extra.u"],
      ["NaN", { x: Number.NaN }, "extra.x"],
      ["Infinity", { x: [Number.NEGATIVE_INFINITY] }, "extra.x[0]"],
      ["Date instance", { when: new Date(0) }, "extra.when"],
      ["Map instance", { m: new Map() }, "extra.m"],
      ["class instance", { c: new (class Custom {})() }, "extra.c"],
      ["Buffer", { b: Buffer.from("x") }, "extra.b"],
    ])("rejects a %s, naming where it is", (_label, extra, field) => {
      const error = errorOf(withFields({ extra }));
      expect(error.field).toBe(field);
    });

    it("rejects cycles", () => {
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic["self"] = cyclic;
      expect(errorOf(withFields({ extra: cyclic })).field).toBe("extra.self");
      const list: unknown[] = [];
      list.push({ back: list });
      expect(errorOf(withFields({ extra: { list } })).field).toBe("extra.list[0].back");
    });

    it("accepts the same object twice when it is not a cycle", () => {
      const shared = { k: "v" };
      const record = new AuditRecord({ ...FIELDS, extra: { a: shared, b: [shared, shared] } });
      expect(record.toDict()).toMatchObject({ a: { k: "v" }, b: [{ k: "v" }, { k: "v" }] });
    });

    it("rejects nesting deeper than 64 levels", () => {
      let deep: Record<string, unknown> = { leaf: true };
      for (let i = 0; i < 70; i++) deep = { d: deep };
      expect(errorOf(withFields({ extra: deep })).field).toMatch(/^extra(\.d)+$/);
    });

    it.each([
      ["an array", [1, 2]],
      ["a string", "x"],
      ["a number", 1],
      ["a class instance", new (class Extra {})()],
      ["a Map", new Map([["a", 1]])],
    ])("rejects %s as extra itself", (_label, extra) => {
      expect(errorOf(withFields({ extra })).field).toBe("extra");
    });

    it("accepts a null-prototype object and JSON values of every kind", () => {
      const bare = Object.assign(Object.create(null) as Record<string, unknown>, { k: "v" });
      const record = new AuditRecord({
        ...FIELDS,
        extra: { bare, n: null, t: true, f: 0.25, s: "é🚀", a: [[], {}] } as never,
      });
      expect(JSON.parse(record.toNdjson())).toMatchObject({
        bare: { k: "v" },
        n: null,
        t: true,
        f: 0.25,
        s: "é🚀",
        a: [[], {}],
      });
    });

    it("keeps an own __proto__ key as data, never as a prototype", () => {
      const extra = JSON.parse('{"__proto__":{"polluted":true},"x":1}');
      const record = new AuditRecord({ ...FIELDS, extra });
      expect(Object.keys(record.extra)).toEqual(["__proto__", "x"]);
      expect((record.extra as Record<string, unknown>)["polluted"]).toBeUndefined();
      expect(Object.getPrototypeOf(record.toDict())).toBe(Object.prototype);
      const parsed = JSON.parse(record.toNdjson());
      expect(Object.getOwnPropertyDescriptor(parsed, "__proto__")?.value).toEqual({
        polluted: true,
      });
      expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    });

    it("does not echo values (which may be secrets) in error messages", () => {
      const secret = "sk_live_0123456789abcdef";
      const errors = [
        errorOf(withFields({ extra: { token: secret, bad: 1n } })),
        errorOf(withFields({ policyName: { secret } })),
        errorOf(withFields({ extra: { outcome: secret } })),
        errorOf(() => AuditRecord.fromDict({ chain_depth: secret })),
      ];
      for (const error of errors) {
        expect(error.message).not.toContain(secret);
        expect(inspect(error)).not.toContain(secret);
      }
    });
  });

  describe("immutability", () => {
    const build = () =>
      new AuditRecord({
        ...FIELDS,
        errorMessage: "denied",
        extra: { geo: { country: "DE", tags: ["a"] } },
      });

    it("freezes the record", () => {
      const record = build();
      expect(Object.isFrozen(record)).toBe(true);
      expect(() => {
        (record as { outcome: string }).outcome = "AUTHORIZED";
      }).toThrow(TypeError);
      expect(() => {
        (record as { errorMessage?: string }).errorMessage = undefined;
      }).toThrow(TypeError);
      expect(() => {
        (record as unknown as Record<string, unknown>)["policyName"] = "added";
      }).toThrow(TypeError);
      expect(record.outcome).toBe("DENIED");
      expect(record.toDict()["outcome"]).toBe("DENIED");
    });

    it("deep-freezes extra", () => {
      const record = build();
      const geo = record.extra["geo"] as { country: string; tags: string[] };
      expect(Object.isFrozen(record.extra)).toBe(true);
      expect(Object.isFrozen(geo)).toBe(true);
      expect(Object.isFrozen(geo.tags)).toBe(true);
      expect(() => {
        (record.extra as Record<string, unknown>)["outcome"] = "AUTHORIZED";
      }).toThrow(TypeError);
      expect(() => {
        geo.country = "US";
      }).toThrow(TypeError);
      expect(() => geo.tags.push("b")).toThrow(TypeError);
      expect(record.toNdjson()).not.toContain("AUTHORIZED");
    });

    it("copies extra: changing the caller's object later changes nothing", () => {
      const extra = { geo: { country: "DE" }, list: [1] };
      const record = new AuditRecord({ ...FIELDS, extra });
      const before = record.toNdjson();
      extra.geo.country = "US";
      extra.list.push(2);
      (extra as Record<string, unknown>)["outcome"] = "AUTHORIZED";
      expect(record.extra).toEqual({ geo: { country: "DE" }, list: [1] });
      expect(JSON.stringify(record.toDict())).toBe(before);
    });

    it("toDict() returns a fresh object each time; changing it leaves the record alone", () => {
      const record = build();
      const dict = record.toDict();
      dict["outcome"] = "AUTHORIZED";
      delete dict["error_message"];
      expect(record.toDict()).not.toBe(dict);
      expect(record.toDict()["outcome"]).toBe("DENIED");
      expect(record.toDict()["error_message"]).toBe("denied");
      expect(JSON.parse(record.toNdjson())["outcome"]).toBe("DENIED");
    });
  });

  describe("serialisation", () => {
    it("JSON.stringify(record) is the wire form; toJSON() is toDict()", () => {
      const record = new AuditRecord({ ...FIELDS, extra: { trace_id: "t" } });
      expect(record.toJSON()).toEqual(record.toDict());
      expect(JSON.stringify(record)).toBe(record.toNdjson());
      expect(JSON.stringify({ nested: [record] })).toBe(`{"nested":[${record.toNdjson()}]}`);
    });

    it("toNdjson() is one line without a trailing newline, whatever the strings hold", () => {
      const record = new AuditRecord({
        ...FIELDS,
        errorMessage: "a\nb\r\nc\u2028d\u2029e",
        extra: { "k\ney": ["\r", "\n"] },
      });
      const line = record.toNdjson();
      expect(line).not.toMatch(/[\n\r]/);
      expect(line.endsWith("}")).toBe(true);
      expect(JSON.parse(line)["error_message"]).toBe("a\nb\r\nc\u2028d\u2029e");
      expect(JSON.parse(line)["k\ney"]).toEqual(["\r", "\n"]);
    });

    it("toNdjson() is stable across calls", () => {
      const record = new AuditRecord(FIELDS);
      expect(record.toNdjson()).toBe(record.toNdjson());
      expect(record.toNdjson()).toBe(JSON.stringify(record.toDict()));
    });
  });

  describe("isInstance", () => {
    it("recognises records, also made by another copy of the package", () => {
      const record = new AuditRecord(FIELDS);
      expect(AuditRecord.isInstance(record)).toBe(true);
      expect(AuditRecord.isInstance({ ...record })).toBe(false);
      expect(AuditRecord.isInstance(record.toDict())).toBe(false);
      expect(AuditRecord.isInstance(null)).toBe(false);
      expect(AuditRecord.isInstance("record")).toBe(false);
      // Another copy of @a1/siem-core brands its records with the same registered symbol.
      const foreign = Object.defineProperty({}, Symbol.for("@a1/siem-core/AuditRecord"), {
        value: true,
      });
      expect(AuditRecord.isInstance(foreign)).toBe(true);
    });

    it("recognises AuditRecordErrors likewise", () => {
      const error = errorOf(withFields({ chainDepth: -1 }));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.name).toBe("AuditRecordError");
      expect(error.field).toBe("chain_depth");
      expect(error.message.startsWith("chain_depth: ")).toBe(true);
      expect(AuditRecordError.isInstance(new TypeError("x"))).toBe(false);
      expect(AuditRecordError.isInstance(undefined)).toBe(false);
      const foreign = Object.defineProperty(
        new Error("x"),
        Symbol.for("@a1/siem-core/AuditRecordError"),
        {
          value: true,
        },
      );
      expect(AuditRecordError.isInstance(foreign)).toBe(true);
    });
  });
});

describe("AuditRecord.fromDict()", () => {
  const wire = {
    event_id: "e1",
    timestamp_unix: 1_733_300_000,
    timestamp_iso: "1999-01-01T00:00:00Z",
    outcome: "AUTHORIZED",
    principal_pk_hex: "p",
    executor_pk_hex: "x",
    chain_depth: 3,
    intent_hex: "i",
  };

  it("maps snake_case to camelCase and ignores timestamp_iso", () => {
    const record = AuditRecord.fromDict({ ...wire, request_id: "r" });
    expect(record).toMatchObject({
      eventId: "e1",
      timestampUnix: 1_733_300_000,
      outcome: "AUTHORIZED",
      principalPkHex: "p",
      executorPkHex: "x",
      chainDepth: 3,
      intentHex: "i",
      requestId: "r",
    });
    expect(record.timestampIso).toBe("2024-12-04T08:13:20Z");
    expect(record.extra).toEqual({});
    // A timestamp_iso of any type is ignored, as in the reference.
    expect(AuditRecord.fromDict({ ...wire, timestamp_iso: 42 }).timestampIso).toBe(
      "2024-12-04T08:13:20Z",
    );
  });

  it("fills the reference's defaults for missing fields", () => {
    const record = AuditRecord.fromDict({});
    expect(record.toDict()).toEqual({
      event_id: "",
      timestamp_unix: 0,
      timestamp_iso: "1970-01-01T00:00:00Z",
      outcome: "UNKNOWN",
      principal_pk_hex: "",
      executor_pk_hex: "",
      chain_depth: 0,
      intent_hex: "",
    });
  });

  it("parses the Rust AuditEvent: trace and batch fields land in extra, None optionals are absent", () => {
    const record = AuditRecord.fromDict({
      ...wire,
      passport_namespace: null,
      error_message: null,
      trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
      span_id: "00f067aa0ba902b7",
      batch_size: 3,
      batch_outcomes: ["AUTHORIZED", "DENIED", "DENIED"],
    });
    expect(record.passportNamespace).toBeUndefined();
    expect(record.extra).toEqual({
      trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
      span_id: "00f067aa0ba902b7",
      batch_size: 3,
      batch_outcomes: ["AUTHORIZED", "DENIED", "DENIED"],
    });
    expect(Object.keys(record.toDict()).slice(-4)).toEqual([
      "trace_id",
      "span_id",
      "batch_size",
      "batch_outcomes",
    ]);
  });

  it.each([
    ["event_id", 7],
    ["timestamp_unix", "1733300000"],
    ["timestamp_unix", -5],
    ["timestamp_unix", MAX_TIMESTAMP_UNIX + 1],
    ["outcome", ["DENIED"]],
    ["principal_pk_hex", {}],
    ["executor_pk_hex", true],
    ["chain_depth", "3"],
    ["intent_hex", 1],
    ["policy_name", 5],
    ["source_ip", { v4: "10.0.0.1" }],
    // The reference keeps a None required field as null; here it is an error, not a silent null.
    ["event_id", null],
    ["chain_depth", null],
  ])("a bad %s (%j) throws naming it", (key, value) => {
    expect(errorOf(() => AuditRecord.fromDict({ ...wire, [key]: value })).field).toBe(key);
  });

  it("names the path of a non-JSON value among the unknown keys", () => {
    expect(errorOf(() => AuditRecord.fromDict({ ...wire, meta: { n: 1n } })).field).toBe(
      "extra.meta.n",
    );
  });

  it.each([null, undefined, "{}", 42, [], [wire]])("rejects %j as input", (value) => {
    expect(errorOf(() => AuditRecord.fromDict(value as never)).field).toBe("record");
  });

  it("ignores inherited keys; reads own keys only", () => {
    const dict = Object.create({ outcome: "AUTHORIZED", injected: 1 }) as Record<string, unknown>;
    dict["event_id"] = "e";
    const record = AuditRecord.fromDict(dict);
    expect(record.outcome).toBe("UNKNOWN");
    expect(record.extra).toEqual({});
  });

  it("round-trips a record through toDict() and through JSON", () => {
    const record = new AuditRecord({
      ...FIELDS,
      errorMessage: "x",
      sourceIp: "::1",
      extra: { "3": "three", trace_id: "t", nested: { a: [1, { b: null }] } },
    });
    expectSameRecord(AuditRecord.fromDict(record.toDict()), record);
    expectSameRecord(AuditRecord.fromDict(JSON.parse(record.toNdjson())), record);
  });

  it("exportDict-style use: the input is copied, not kept", () => {
    const dict: Record<string, unknown> = { ...wire, meta: { k: "v" } };
    const record = AuditRecord.fromDict(dict);
    (dict["meta"] as Record<string, unknown>)["k"] = "changed";
    dict["outcome"] = "DENIED";
    expect(record.outcome).toBe("AUTHORIZED");
    expect(record.extra).toEqual({ meta: { k: "v" } });
  });
});
