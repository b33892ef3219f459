import type { AuditRecord, JsonObject } from "@a1/siem-core";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import packageJson from "../package.json" with { type: "json" };
import { EVENT_NAME, MAX_OTLP_TIMESTAMP_UNIX } from "../src/index.js";
import { exporterFor } from "./support/harness.js";
import { plain } from "./support/otlp-decode.js";
import { OtlpTestServer } from "./support/otlp-server.js";
import { arbitraryRecord, deniedRecord, SPAN_ID, TRACE_ID } from "./support/records.js";

const NS_PER_S = 1_000_000_000n;

/** What the attributes must be: the wire dict, without a trace context that was promoted. */
function expectedAttributes(record: AuditRecord, promoted: boolean): Record<string, unknown> {
  const dict = record.toDict();
  if (promoted) {
    delete dict.trace_id;
    delete dict.span_id;
  }
  return dict;
}

/** OTLP/JSON cannot carry an integer beyond int64: the exporter sends its JSON text. */
function stringifyHugeIntegers(value: unknown): unknown {
  if (typeof value === "number") {
    return Number.isInteger(value) && Math.abs(value) >= 2 ** 63 ? JSON.stringify(value) : value;
  }
  if (Array.isArray(value)) return value.map(stringifyHugeIntegers);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, stringifyHugeIntegers(v)]));
  }
  return value;
}

function isTraceContext(record: AuditRecord): boolean {
  const { trace_id: traceId, span_id: spanId } = record.extra;
  return (
    typeof traceId === "string" &&
    typeof spanId === "string" &&
    /^[0-9a-f]{32}$/i.test(traceId) &&
    /^[0-9a-f]{16}$/i.test(spanId) &&
    !/^0+$/.test(traceId) &&
    !/^0+$/.test(spanId)
  );
}

describe.each(["http/protobuf", "http/json"] as const)("LogRecord over %s", (protocol) => {
  let server: OtlpTestServer;
  beforeAll(async () => {
    server = await OtlpTestServer.start();
  });
  afterAll(() => server.close());

  test("a DENIED record arrives with every LogRecord field mapped", async () => {
    const record = deniedRecord();
    const { exporter, errors } = exporterFor(server, { protocol });
    const before = BigInt(Date.now()) * 1_000_000n;
    exporter.export(record);
    await exporter.close();
    const after = BigInt(Date.now()) * 1_000_000n;

    expect(errors).toEqual([]);
    const request = server.requests.at(-1)!;
    expect(request.path).toBe("/v1/logs");
    expect(request.contentType).toBe(
      protocol === "http/json" ? "application/json" : "application/x-protobuf",
    );
    expect(request.records).toHaveLength(1);
    const log = request.records[0]!;

    // Time: the authorization time, in nanoseconds, exactly.
    expect(log.timeUnixNano).toBe("1733300000000000000");
    // Observed time: when the exporter sent it.
    const observed = BigInt(log.observedTimeUnixNano);
    expect(observed >= before && observed <= after).toBe(true);
    expect(log.severityNumber).toBe(13); // WARN
    expect(log.severityText).toBe("DENIED");
    expect(log.body).toEqual({ string: record.toNdjson() });
    expect(log.eventName).toBe(EVENT_NAME);
    expect(log.eventName).toBe("a1.authorization");
    expect(log.attributes["event.name"]).toBeUndefined();
    expect(log.traceId).toBe(TRACE_ID);
    expect(log.spanId).toBe(SPAN_ID);
    expect(log.flags).toBe(0);
    expect(log.droppedAttributesCount).toBe(0);

    // Attributes: the wire dict, in order, typed; the promoted ids are not repeated.
    const dict = expectedAttributes(record, true);
    expect(log.attributeKeys).toEqual(Object.keys(dict));
    expect(log.attributes.timestamp_unix).toEqual({ int: "1733300000" });
    expect(log.attributes.chain_depth).toEqual({ int: "3" });
    expect(log.attributes.batch_size).toEqual({ int: "4" });
    expect(log.attributes.ratio).toEqual({ double: 0.25 });
    expect(log.attributes.approved).toEqual({ bool: false });
    expect(log.attributes.timestamp_iso).toEqual({ string: "2024-12-04T08:13:20Z" });
    expect(log.attributes.tags).toEqual({
      array: [{ string: "a" }, { int: "1" }, { bool: true }, { empty: true }],
    });
    expect(log.attributes.nested).toEqual({
      kvlist: { level: { int: "2" }, name: { string: "x" } },
    });
    expect(
      Object.fromEntries(Object.entries(log.attributes).map(([k, v]) => [k, plain(v)])),
    ).toEqual(dict);

    // Resource and scope.
    expect(log.resource["service.name"]).toEqual({ string: "a1" });
    expect(log.resource["telemetry.sdk.language"]).toEqual({ string: "nodejs" });
    expect(log.scope).toEqual({ name: "@a1/siem-otel", version: packageJson.version });
  });

  test("AUTHORIZED is INFO (9); every other outcome WARN (13) with the outcome as text", async () => {
    const { exporter } = exporterFor(server, { protocol, serviceName: "authz-gateway" });
    const outcomes = [
      "AUTHORIZED",
      "DENIED",
      "POLICY_VIOLATION",
      "STORAGE_ERROR",
      "authorized",
      "X",
    ];
    for (const outcome of outcomes) exporter.export(deniedRecord({ outcome, eventId: outcome }));
    await exporter.close();
    const logs = server.requests.at(-1)!.records;
    expect(logs.map((log) => [log.severityText, log.severityNumber])).toEqual([
      ["AUTHORIZED", 9],
      ["DENIED", 13],
      ["POLICY_VIOLATION", 13],
      ["STORAGE_ERROR", 13],
      ["authorized", 13],
      ["X", 13],
    ]);
    expect(logs[0]!.resource["service.name"]).toEqual({ string: "authz-gateway" });
  });

  test("invalid trace ids stay plain attributes and set no trace context", async () => {
    const cases: JsonObject[] = [
      { trace_id: TRACE_ID.slice(1), span_id: SPAN_ID }, // 31 digits
      { trace_id: TRACE_ID, span_id: `${SPAN_ID}0` }, // 17 digits
      { trace_id: "0".repeat(32), span_id: SPAN_ID }, // all zeros: invalid
      { trace_id: TRACE_ID, span_id: "0".repeat(16) },
      { trace_id: `${TRACE_ID.slice(0, 31)}g`, span_id: SPAN_ID }, // not hex
      { trace_id: TRACE_ID }, // no span id
      { trace_id: 42, span_id: SPAN_ID },
    ];
    const { exporter } = exporterFor(server, { protocol });
    for (const [i, extra] of cases.entries()) {
      exporter.export(deniedRecord({ eventId: String(i), extra }));
    }
    // Upper-case hex is valid and normalised to lower case.
    exporter.export(
      deniedRecord({
        eventId: "upper",
        extra: { trace_id: TRACE_ID.toUpperCase(), span_id: SPAN_ID.toUpperCase() },
      }),
    );
    await exporter.close();
    const logs = server.requests.at(-1)!.records;
    cases.forEach((extra, i) => {
      const log = logs[i]!;
      expect(log.traceId).toBe("");
      expect(log.spanId).toBe("");
      for (const [key, value] of Object.entries(extra))
        expect(plain(log.attributes[key])).toEqual(value);
    });
    const upper = logs.at(-1)!;
    expect([upper.traceId, upper.spanId]).toEqual([TRACE_ID, SPAN_ID]);
    expect(upper.attributes.trace_id).toBeUndefined();
  });

  test("a time beyond OTLP's fixed64 nanoseconds is sent as 0 (unknown), kept in the attributes", async () => {
    const { exporter, errors } = exporterFor(server, { protocol });
    exporter.export(deniedRecord({ eventId: "last-ok", timestampUnix: MAX_OTLP_TIMESTAMP_UNIX }));
    exporter.export(
      deniedRecord({ eventId: "too-late", timestampUnix: MAX_OTLP_TIMESTAMP_UNIX + 1 }),
    );
    exporter.export(deniedRecord({ eventId: "epoch", timestampUnix: 0 }));
    await exporter.close();
    expect(errors).toEqual([]);
    const [last, tooLate, epoch] = server.requests.at(-1)!.records;
    expect(last!.timeUnixNano).toBe((BigInt(MAX_OTLP_TIMESTAMP_UNIX) * NS_PER_S).toString());
    expect(BigInt(last!.timeUnixNano) < 2n ** 64n).toBe(true);
    expect(tooLate!.timeUnixNano).toBe("0");
    expect(tooLate!.attributes.timestamp_unix).toEqual({
      int: String(MAX_OTLP_TIMESTAMP_UNIX + 1),
    });
    expect(epoch!.timeUnixNano).toBe("0");
  });

  test("integers beyond int64 in extra never make the request invalid", async () => {
    const { exporter, errors } = exporterFor(server, { protocol });
    exporter.export(
      deniedRecord({ extra: { huge: 1e300, big: 2 ** 63, fine: 2 ** 62, list: [-1e25] } }),
    );
    await exporter.close();
    expect(errors).toEqual([]);
    const log = server.requests.at(-1)!.records[0]!;
    expect(log.attributes.fine).toEqual({ int: (2n ** 62n).toString() });
    if (protocol === "http/protobuf") {
      expect(log.attributes.huge).toEqual({ double: 1e300 });
      expect(log.attributes.big).toEqual({ double: 2 ** 63 });
    } else {
      expect(log.attributes.huge).toEqual({ string: "1e+300" });
      expect(log.attributes.big).toEqual({ string: JSON.stringify(2 ** 63) });
      expect(log.attributes.list).toEqual({ array: [{ string: "-1e+25" }] });
    }
  });

  test("property: any record arrives exactly: time in ns, typed attributes, body, trace context", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(arbitraryRecord, { minLength: 1, maxLength: 15 }),
        async (records) => {
          const { exporter, errors } = exporterFor(server, { protocol });
          const start = server.accepted.length;
          for (const record of records) exporter.export(record);
          await exporter.close();
          expect(errors).toEqual([]);
          const logs = server.accepted.slice(start);
          expect(logs).toHaveLength(records.length);
          records.forEach((record, i) => {
            const log = logs[i]!;
            const expectedTime =
              record.timestampUnix <= MAX_OTLP_TIMESTAMP_UNIX
                ? (BigInt(record.timestampUnix) * NS_PER_S).toString()
                : "0";
            expect(log.timeUnixNano).toBe(expectedTime);
            expect(log.body).toEqual({ string: record.toNdjson() });
            expect(log.severityText).toBe(record.outcome);
            expect(log.severityNumber).toBe(record.outcome === "AUTHORIZED" ? 9 : 13);
            expect(log.eventName).toBe("a1.authorization");
            const promoted = isTraceContext(record);
            expect(log.traceId).toBe(promoted ? String(record.extra.trace_id).toLowerCase() : "");
            expect(log.spanId).toBe(promoted ? String(record.extra.span_id).toLowerCase() : "");
            const dict = expectedAttributes(record, promoted);
            expect(log.attributeKeys).toEqual(Object.keys(dict));
            const decoded = Object.fromEntries(
              Object.entries(log.attributes).map(([key, value]) => [key, plain(value)]),
            );
            expect(decoded).toEqual(protocol === "http/json" ? stringifyHugeIntegers(dict) : dict);
            // Integers stay integers.
            expect(log.attributes.timestamp_unix).toEqual({ int: String(record.timestampUnix) });
            expect(log.attributes.chain_depth).toEqual({ int: String(record.chainDepth) });
          });
        },
      ),
      { numRuns: 40 },
    );
  });
});
