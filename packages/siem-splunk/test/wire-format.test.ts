import { gunzipSync } from "node:zlib";
import { AuditRecord, type AuditRecordFields } from "@a1/siem-core";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { envelopeEncoder } from "../src/hec-envelope.js";
import { SplunkHecExporter } from "../src/index.js";
import { PACKAGE_VERSION } from "../src/version.js";
import { AccountingWatch } from "./support/accounting.js";
import { DEFAULT_TOKEN, HecTestServer } from "./support/hec-server.js";
import { makeRecord, makeRecords } from "./support/records.js";

let server: HecTestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const expectedEnvelope = (
  record: AuditRecord,
  meta: { host?: string; source?: string; sourcetype?: string; index?: string } = {},
): string =>
  JSON.stringify({
    time: record.timestampUnix,
    ...(meta.host === undefined ? {} : { host: meta.host }),
    source: meta.source ?? "a1",
    sourcetype: meta.sourcetype ?? "_json",
    ...(meta.index === undefined ? {} : { index: meta.index }),
    event: record.toDict(),
  });

describe("wire format", () => {
  it("POSTs the envelopes back to back, byte for byte, with HEC's headers", async () => {
    server = await HecTestServer.start();
    const records = makeRecords(3);
    const exporter = new SplunkHecExporter({
      url: server.url,
      token: DEFAULT_TOKEN,
      flushIntervalMs: 5,
    });
    for (const record of records) exporter.export(record);
    await exporter.close();

    expect(server.eventRequests).toHaveLength(1);
    const [request] = server.eventRequests;
    expect(request!.method).toBe("POST");
    expect(request!.path).toBe("/services/collector/event");
    expect(request!.headers.authorization).toBe(`Splunk ${DEFAULT_TOKEN}`);
    expect(request!.headers["content-type"]).toBe("application/json");
    expect(request!.headers["user-agent"]).toBe(`a1-siem-splunk/${PACKAGE_VERSION}`);
    expect(request!.headers["content-encoding"]).toBeUndefined();
    expect(request!.headers["x-splunk-request-channel"]).toBeUndefined();
    expect(request!.raw.toString("utf8")).toBe(records.map((r) => expectedEnvelope(r)).join(""));
    // One literal sample so that a change of JSON.stringify's output cannot hide a change here.
    expect(
      request!.raw
        .toString("utf8")
        .startsWith(
          `{"time":1733300000,"source":"a1","sourcetype":"_json","event":{"event_id":"evt-0","timestamp_unix":1733300000,"timestamp_iso":"2024-12-04T08:13:20Z","outcome":"DENIED",`,
        ),
    ).toBe(true);
    expect(server.indexed.map((event) => (event.event as { event_id: string }).event_id)).toEqual([
      "evt-0",
      "evt-1",
      "evt-2",
    ]);
    expect(exporter.stats()).toMatchObject({ received: 3, delivered: 3, pending: 0, retries: 0 });
  });

  it("sends host and index only when configured, with the configured source and sourcetype", async () => {
    server = await HecTestServer.start();
    const record = makeRecord(7);
    const exporter = new SplunkHecExporter({
      url: `${server.url}/`,
      token: DEFAULT_TOKEN,
      host: "authz-1.example",
      index: "a1_audit",
      source: "a1-prod",
      sourcetype: "a1:authorization",
      flushIntervalMs: 5,
    });
    exporter.export(record);
    await exporter.close();
    const meta = {
      host: "authz-1.example",
      index: "a1_audit",
      source: "a1-prod",
      sourcetype: "a1:authorization",
    };
    expect(server.eventRequests[0]!.raw.toString("utf8")).toBe(expectedEnvelope(record, meta));
    expect(Object.keys(server.indexed[0]!)).toEqual([
      "time",
      "host",
      "source",
      "sourcetype",
      "index",
      "event",
    ]);
    expect(typeof server.indexed[0]!.time).toBe("number");
  });

  it("gzips the same bytes when compression is gzip", async () => {
    server = await HecTestServer.start();
    const records = makeRecords(20);
    const exporter = new SplunkHecExporter({
      url: server.url,
      token: DEFAULT_TOKEN,
      compression: "gzip",
      flushIntervalMs: 5,
    });
    for (const record of records) exporter.export(record);
    await exporter.close();
    const [request] = server.eventRequests;
    expect(request!.headers["content-encoding"]).toBe("gzip");
    expect(request!.raw.length).toBeLessThan(Buffer.byteLength(request!.body));
    expect(gunzipSync(request!.raw).toString("utf8")).toBe(
      records.map((r) => expectedEnvelope(r)).join(""),
    );
    expect(server.stats().distinct).toBe(20);
  });

  it("cuts batches by maxBatchBytes and batchSize, every request within the limit", async () => {
    server = await HecTestServer.start();
    const watch = new AccountingWatch();
    const records = makeRecords(50);
    const size = Buffer.byteLength(expectedEnvelope(records[0]!));
    const exporter = new SplunkHecExporter({
      url: server.url,
      token: DEFAULT_TOKEN,
      maxBatchBytes: size * 4 + 10,
      batchSize: 7,
      flushIntervalMs: 5,
      onError: watch.onError,
    });
    for (const record of records) exporter.export(record);
    await exporter.close();
    for (const request of server.eventRequests) {
      expect(request.raw.length).toBeLessThanOrEqual(size * 4 + 10);
      expect(request.events.length).toBeLessThanOrEqual(7);
    }
    expect(server.eventRequests.length).toBeGreaterThanOrEqual(13);
    // Two batches may be in flight at once (concurrency 2): each request keeps
    // the export order, and every record arrives once.
    const ids = server.indexed.map((e) => (e.event as { event_id: string }).event_id);
    expect([...ids].sort()).toEqual(records.map((r) => r.eventId).sort());
    for (const request of server.eventRequests) {
      const numbers = request.events.map((e) =>
        Number((e.event as { event_id: string }).event_id.slice(4)),
      );
      expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    }
    expect(watch.errors).toEqual([]);
  });

  it("posts to the base URL's path prefix and cuts a pasted collector path back to the base", async () => {
    server = await HecTestServer.start();
    for (const url of [
      `${server.url}/services/collector/event`,
      `${server.url}/services/collector`,
    ]) {
      const exporter = new SplunkHecExporter({ url, token: DEFAULT_TOKEN, flushIntervalMs: 1 });
      exporter.export(makeRecord(1));
      await exporter.close();
    }
    expect(server.eventRequests.map((r) => r.path)).toEqual([
      "/services/collector/event",
      "/services/collector/event",
    ]);
  });

  it("encodes any record and metadata exactly as JSON.stringify of the envelope", () => {
    const text = fc.string({ unit: "binary", minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(
        fc.record({
          host: fc.option(text, { nil: undefined }),
          source: text,
          sourcetype: text,
          index: fc.option(text, { nil: undefined }),
        }),
        fc.record({
          eventId: fc.string({ unit: "binary" }),
          timestampUnix: fc.integer({ min: 0, max: 253402300799 }),
          outcome: fc.string(),
          principalPkHex: fc.string(),
          executorPkHex: fc.string(),
          chainDepth: fc.nat(),
          intentHex: fc.string(),
          userAgent: fc.option(fc.string({ unit: "binary" }), { nil: undefined }),
          extra: fc.dictionary(fc.constantFrom("a", "b", "trace_id", "10"), fc.jsonValue()),
        }),
        (meta, fields) => {
          const record = new AuditRecord(fields as AuditRecordFields);
          const encode = envelopeEncoder(meta);
          expect(encode(record)).toBe(expectedEnvelope(record, meta));
          const parsed = JSON.parse(encode(record));
          expect(parsed.event).toEqual(JSON.parse(JSON.stringify(record.toDict())));
        },
      ),
      { numRuns: 300 },
    );
  });
});
