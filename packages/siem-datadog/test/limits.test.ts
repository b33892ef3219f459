import type { ExportError } from "@a1/siem-core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DatadogEntryEncoder } from "../src/datadog-entry.js";
import {
  DatadogLogExporter,
  type DatadogLogExporterOptions,
  DEFAULT_BATCH_BYTES,
  MAX_ENTRY_BYTES,
  MAX_PAYLOAD_BYTES,
} from "../src/index.js";
import { type IntakeServer, startIntakeServer, TEST_API_KEY } from "./support/intake-server.js";
import { expectAccounting, makeRecord, makeRecords } from "./support/records.js";

let server: IntakeServer;
beforeEach(async () => {
  server = await startIntakeServer();
});
afterEach(async () => {
  await server.close();
});

function exporterFor(options: Partial<DatadogLogExporterOptions> = {}) {
  const errors: ExportError[] = [];
  const exporter = new DatadogLogExporter({
    apiKey: TEST_API_KEY,
    url: server.url,
    flushIntervalMs: 5,
    hostname: "h",
    onError: (error) => errors.push(error),
    ...options,
  });
  return { exporter, errors };
}

const padded = (i: number, padding: number) =>
  makeRecord(i, { extra: { pad: "x".repeat(padding) } });

describe("intake limits", () => {
  it("puts at most 1,000 entries in a request, whatever batchSize asks", async () => {
    const { exporter, errors } = exporterFor({ batchSize: 5000, flushIntervalMs: 50 });
    for (const record of makeRecords(2500)) exporter.export(record);
    await exporter.close();
    const sizes = server.requests.map((request) => request.entries.length);
    expect(Math.max(...sizes)).toBe(1000);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(2500);
    expect(server.counters().statuses).toEqual({ 202: sizes.length });
    expect(server.eventIds.size).toBe(2500);
    expect(errors).toEqual([]);
  });

  it("cuts requests by bytes: 4.25 MB by default, under 5 MB uncompressed at most", async () => {
    // Entries of ~100 KB: about 42 fit in 4.25 MB, far fewer than 1,000.
    const { exporter, errors } = exporterFor({ flushIntervalMs: 50 });
    for (let i = 0; i < 150; i++) exporter.export(padded(i, 50_000));
    await exporter.close();
    const payloads = server.requests.map((request) => request.payloadBytes);
    expect(payloads.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...payloads)).toBeLessThanOrEqual(DEFAULT_BATCH_BYTES + 1);
    expect(server.counters().statuses).toEqual({ 202: payloads.length });
    expect(server.eventIds.size).toBe(150);
    expect(errors).toEqual([]);
  });

  it("clamps maxBatchBytes to Datadog's 5 MB, so the intake never answers 413", async () => {
    const { exporter, errors } = exporterFor({ maxBatchBytes: 20_000_000, flushIntervalMs: 50 });
    for (let i = 0; i < 150; i++) exporter.export(padded(i, 50_000));
    await exporter.close();
    const payloads = server.requests.map((request) => request.payloadBytes);
    expect(Math.max(...payloads)).toBeGreaterThan(DEFAULT_BATCH_BYTES);
    expect(Math.max(...payloads)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    expect(server.counters().statuses[413]).toBeUndefined();
    expect(server.eventIds.size).toBe(150);
    expect(errors).toEqual([]);
  });

  it("drops an entry above 1 MB as oversize before sending and delivers its neighbours", async () => {
    const { exporter, errors } = exporterFor();
    const big = padded(1, 600_000); // ~1.2 MB once in message and at the top level
    const neighbours = [makeRecord(0), makeRecord(2), makeRecord(3)];
    exporter.export(neighbours[0]!);
    exporter.export(big);
    exporter.export(neighbours[1]!);
    exporter.export(neighbours[2]!);
    await exporter.close();
    expect([...server.eventIds]).toEqual(neighbours.map((record) => record.eventId));
    expect(server.counters().truncated).toBe(0);
    expect(exporter.stats()).toMatchObject({ delivered: 3, dropped: 1, failed: 0, pending: 0 });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.reason).toBe("oversize");
    expect(errors[0]!.records).toEqual([big]);
    expectAccounting(exporter.stats());
  });

  it("sends an entry of exactly 1,000,000 bytes and drops one of 1,000,001", async () => {
    const encoder = new DatadogEntryEncoder({
      source: "a1",
      service: "a1",
      hostname: "h",
      tags: "",
    });
    const size = (record: ReturnType<typeof makeRecord>) =>
      Buffer.byteLength(encoder.encode(record));
    // A padding character adds 2 bytes (in message and at the top level); a
    // control character 13 (\u0001, escaped once at the top level and twice
    // in message): together they reach every size.
    const fit = (target: number) => {
      for (const controls of ["", "\u0001"]) {
        const base = size(makeRecord(7, { requestId: `req-7${controls}`, extra: { pad: "" } }));
        const padding = (target - base) / 2;
        if (!Number.isInteger(padding)) continue;
        const record = makeRecord(7, {
          requestId: `req-7${controls}`,
          extra: { pad: "x".repeat(padding) },
        });
        if (size(record) === target) return record;
      }
      throw new Error(`no record of ${target} bytes`);
    };
    const atLimit = fit(MAX_ENTRY_BYTES);
    const overLimit = fit(MAX_ENTRY_BYTES + 1);
    const { exporter, errors } = exporterFor();
    exporter.export(atLimit);
    exporter.export(overLimit);
    await exporter.close();
    expect(server.counters()).toMatchObject({ entries: 1, truncated: 0 });
    expect(server.entries[0]!.request_id).toBe(atLimit.requestId);
    expect(errors.map((error) => [error.reason, error.records[0]])).toEqual([
      ["oversize", overLimit],
    ]);
  });
});
