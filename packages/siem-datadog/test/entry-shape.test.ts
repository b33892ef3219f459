import { hostname } from "node:os";
import { AuditRecord, type ExportError } from "@a1/siem-core";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DatadogEntryEncoder } from "../src/datadog-entry.js";
import { DatadogLogExporter, RESERVED_ATTRIBUTES } from "../src/index.js";
import { type IntakeServer, startIntakeServer, TEST_API_KEY } from "./support/intake-server.js";
import { makeRecord } from "./support/records.js";

let server: IntakeServer;
beforeEach(async () => {
  server = await startIntakeServer();
});
afterEach(async () => {
  await server.close();
});

const full = new AuditRecord({
  eventId: "0190b7e2-5f3a-7c1d-8e2f-0123456789ab",
  timestampUnix: Math.floor(Date.now() / 1000) - 60,
  outcome: "AUTHORIZED",
  principalPkHex: "aa".repeat(32),
  executorPkHex: "bb".repeat(32),
  chainDepth: 2,
  intentHex: "cc".repeat(32),
  passportNamespace: "trading-agents",
  chainFingerprint: "dd".repeat(32),
  errorMessage: 'quote " backslash \\ newline \n end',
  policyName: "max-notional",
  capabilityMaskHex: "ff00",
  requestId: "req-1",
  userAgent: "agent/1.0",
  sourceIp: "203.0.113.7",
  extra: { trace_id: "0af7651916cd43dd8448eb211c80319c", nested: { ok: [1, true, null] } },
});

function exporterFor(options: Record<string, unknown> = {}): DatadogLogExporter {
  return new DatadogLogExporter({
    apiKey: TEST_API_KEY,
    url: server.url,
    flushIntervalMs: 5,
    ...options,
  });
}

describe("entry shape", () => {
  it("sends each record as one entry, field by field and byte for byte", async () => {
    const exporter = exporterFor({
      hostname: "authz-7",
      service: "authz",
      source: "a1",
      tags: { env: "prod", team: "iam" },
    });
    exporter.export(full);
    await exporter.close();

    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    const line = full.toNdjson();
    // Reserved attributes first (the date first of all), then the wire fields in the record's order.
    const expected =
      `[{"timestamp":${full.timestampUnix * 1000},"ddsource":"a1","ddtags":"env:prod,team:iam",` +
      `"hostname":"authz-7","service":"authz","status":"info","message":${JSON.stringify(line)},` +
      `${line.slice(1)}]`;
    expect(request!.body).toBe(expected);

    const entry = server.entries[0]!;
    expect(Object.keys(entry)).toEqual([
      "timestamp",
      "ddsource",
      "ddtags",
      "hostname",
      "service",
      "status",
      "message",
      ...Object.keys(full.toDict()),
    ]);
    expect(entry.timestamp).toBe(full.timestampUnix * 1000);
    expect(entry.message).toBe(line);
    expect(JSON.parse(entry.message as string)).toEqual(full.toDict());
    for (const [key, value] of Object.entries(full.toDict())) expect(entry[key]).toEqual(value);
  });

  it("sends the documented headers, gzip by default", async () => {
    const exporter = exporterFor();
    exporter.export(full);
    await exporter.close();
    const { headers, path, method } = server.requests[0]!;
    expect(method).toBe("POST");
    expect(path).toBe("/api/v2/logs");
    expect(headers["dd-api-key"]).toBe(TEST_API_KEY);
    expect(headers["content-type"]).toBe("application/json");
    expect(headers["content-encoding"]).toBe("gzip");
    expect(headers["user-agent"]).toMatch(/^a1-siem-datadog\/\d+\.\d+\.\d+ \(node v\d+/);
  });

  it("sends the same body uncompressed with compression: none", async () => {
    const gzipped = exporterFor();
    gzipped.export(full);
    await gzipped.close();
    const plain = exporterFor({ compression: "none" });
    plain.export(full);
    await plain.close();
    const [first, second] = server.requests;
    expect(second!.headers["content-encoding"]).toBeUndefined();
    expect(second!.body).toBe(first!.body);
    expect(second!.wireBytes).toBe(second!.payloadBytes);
    expect(first!.wireBytes).toBeLessThan(first!.payloadBytes);
  });

  it("sends the same body at any gzipLevel", async () => {
    const bodies: string[] = [];
    for (const gzipLevel of [1, 3, 6, 9]) {
      const exporter = exporterFor({ gzipLevel });
      exporter.export(full);
      await exporter.close();
      expect(server.requests.at(-1)!.headers["content-encoding"]).toBe("gzip");
      bodies.push(server.requests.at(-1)!.body);
    }
    expect(new Set(bodies).size).toBe(1);
  });

  it("uses the defaults: service and source a1, os.hostname(), no ddtags", async () => {
    const exporter = exporterFor();
    exporter.export(full);
    await exporter.close();
    const entry = server.entries[0]!;
    expect(entry.service).toBe("a1");
    expect(entry.ddsource).toBe("a1");
    expect(entry.hostname).toBe(hostname());
    expect("ddtags" in entry).toBe(false);
  });

  it("accepts tags as a string or an array", async () => {
    const asString = exporterFor({ tags: "env:prod,team:iam" });
    asString.export(full);
    await asString.close();
    const asArray = exporterFor({ tags: ["env:prod", " team:iam ", ""] });
    asArray.export(full);
    await asArray.close();
    expect(server.entries.map((entry) => entry.ddtags)).toEqual([
      "env:prod,team:iam",
      "env:prod,team:iam",
    ]);
  });

  it("maps AUTHORIZED to status info and every other outcome to warn", async () => {
    const exporter = exporterFor();
    const outcomes = ["AUTHORIZED", "DENIED", "POLICY_VIOLATION", "STORAGE_ERROR", "SOMETHING_NEW"];
    outcomes.forEach((outcome, i) => {
      exporter.export(makeRecord(i, { outcome }));
    });
    await exporter.close();
    expect(server.entries.map((entry) => [entry.outcome, entry.status])).toEqual([
      ["AUTHORIZED", "info"],
      ["DENIED", "warn"],
      ["POLICY_VIOLATION", "warn"],
      ["STORAGE_ERROR", "warn"],
      ["SOMETHING_NEW", "warn"],
    ]);
  });

  it("lets the exporter's reserved attributes win over extra keys of the same name", async () => {
    const exporter = exporterFor({ hostname: "authz-7", tags: "env:prod" });
    const record = makeRecord(1, {
      outcome: "DENIED",
      extra: {
        timestamp: "1970-01-01T00:00:00Z",
        ddsource: "forged",
        ddtags: "env:forged",
        hostname: "forged-host",
        service: "forged",
        status: "info",
        message: "forged message",
        kept: "yes",
      },
    });
    exporter.export(record);
    await exporter.close();
    const body = server.requests[0]!.body;
    const entry = server.entries[0]!;
    expect(entry).toMatchObject({
      timestamp: record.timestampUnix * 1000,
      ddsource: "a1",
      ddtags: "env:prod",
      hostname: "authz-7",
      service: "a1",
      status: "warn",
      message: record.toNdjson(),
      outcome: "DENIED",
      kept: "yes",
    });
    // Each attribute once: no duplicate keys for a parser to pick from.
    for (const name of RESERVED_ATTRIBUTES) {
      expect(body.split(`"${name}":`).length - 1, name).toBe(1);
    }
    // Nothing is lost: the message holds the whole record, extra included.
    expect(JSON.parse(entry.message as string).ddsource).toBe("forged");
  });

  it("encodes any record as one JSON object with the reserved attributes, the message and the wire fields", () => {
    const encoder = new DatadogEntryEncoder({
      source: "a1",
      service: "svc",
      hostname: 'h\u00e9"st',
      tags: "env:prod",
    });
    const text = fc.string({ unit: "grapheme", maxLength: 40 });
    const key = fc.oneof(
      fc.constantFrom(...RESERVED_ATTRIBUTES, "trace_id", "10", "__proto__x"),
      fc.string({ minLength: 1, maxLength: 12 }),
    );
    const fields = fc.record(
      {
        eventId: text,
        timestampUnix: fc.integer({ min: 0, max: 253_402_300_799 }),
        outcome: fc.oneof(fc.constantFrom("AUTHORIZED", "DENIED"), text),
        principalPkHex: text,
        executorPkHex: text,
        chainDepth: fc.nat(),
        intentHex: text,
        errorMessage: text,
        sourceIp: text,
        extra: fc.dictionary(key, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }),
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
    );
    fc.assert(
      fc.property(fields, (input) => {
        let record: AuditRecord;
        try {
          record = new AuditRecord(input as never);
        } catch {
          return; // not a valid record (e.g. extra uses a core key): nothing to encode
        }
        const entry = JSON.parse(encoder.encode(record)) as Record<string, unknown>;
        // Compared through JSON: the wire form is what JSON can carry (-0 travels as 0).
        const wire = JSON.parse(JSON.stringify(record.toDict())) as Record<string, unknown>;
        expect(entry.timestamp).toBe(record.timestampUnix * 1000);
        expect(entry.ddsource).toBe("a1");
        expect(entry.service).toBe("svc");
        expect(entry.hostname).toBe('h\u00e9"st');
        expect(entry.ddtags).toBe("env:prod");
        expect(entry.status).toBe(record.outcome === "AUTHORIZED" ? "info" : "warn");
        expect(entry.message).toBe(record.toNdjson());
        const expectedKeys = new Set([...RESERVED_ATTRIBUTES, ...Object.keys(wire)]);
        expect(new Set(Object.keys(entry))).toEqual(expectedKeys);
        for (const [name, value] of Object.entries(wire)) {
          if (!RESERVED_ATTRIBUTES.has(name)) expect(entry[name]).toEqual(value);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("reports nothing for a clean run", async () => {
    const errors: ExportError[] = [];
    const exporter = exporterFor({ onError: (error: ExportError) => errors.push(error) });
    exporter.export(full);
    await exporter.close();
    expect(errors).toEqual([]);
    expect(exporter.stats()).toEqual({
      received: 1,
      delivered: 1,
      failed: 0,
      dropped: 0,
      pending: 0,
      retries: 0,
      stampedAtSend: 0,
    });
  });
});
