import type { AuditRecord, ExportError } from "@a1/siem-core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DatadogLogExporter, type DatadogLogExporterOptions } from "../src/index.js";
import { type IntakeServer, startIntakeServer, TEST_API_KEY } from "./support/intake-server.js";
import { expectAccounting, makeRecords, until } from "./support/records.js";

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
    batchSize: 10,
    maxQueueSize: 100,
    retry: { maxAttempts: 1000, initialDelayMs: 1, maxDelayMs: 10 },
    onError: (error) => {
      errors.push(error);
      // The invariant holds when a failure is reported, too.
      expectAccounting(exporter.stats());
    },
    ...options,
  });
  return { exporter, errors };
}

const recordsOf = (errors: readonly ExportError[], reason: string): AuditRecord[] =>
  errors.filter((error) => error.reason === reason).flatMap((error) => [...error.records]);

describe("an outage longer than the queue", () => {
  it.each([
    ["503 answers", { status: 503 }],
    ["connection resets", { reset: true }],
  ] as const)(
    "with %s: overflow is dropped, reported at once and counted; the rest arrives",
    async (_name, fault) => {
      server.setOutage(fault);
      const { exporter, errors } = exporterFor();
      const records = makeRecords(300);
      for (const record of records) {
        exporter.export(record);
        expectAccounting(exporter.stats());
      }
      // Dropped records are reported in the same tick or the next.
      await new Promise((resolve) => setImmediate(resolve));
      const overflowed = recordsOf(errors, "overflow");
      expect(overflowed).toEqual(records.slice(100));
      expect(exporter.stats()).toMatchObject({
        received: 300,
        dropped: 200,
        pending: 100,
        delivered: 0,
      });

      // The outage goes on while batches are retried.
      await until(() => server.counters().requests >= 20);
      expectAccounting(exporter.stats());
      expect(exporter.stats().pending).toBe(100);

      server.setOutage(undefined);
      await exporter.close();
      const stats = exporter.stats();
      expect(stats).toMatchObject({
        received: 300,
        delivered: 100,
        dropped: 200,
        failed: 0,
        pending: 0,
      });
      expect(stats.retries).toBeGreaterThan(0);
      expectAccounting(stats);
      expect([...server.eventIds].sort()).toEqual(
        records
          .slice(0, 100)
          .map((r) => r.eventId)
          .sort(),
      );
    },
  );

  it("with drop-oldest: keeps the newest records, and every record is either delivered or reported", async () => {
    server.setOutage({ status: 503 });
    const { exporter, errors } = exporterFor({ overflow: "drop-oldest" });
    const records = makeRecords(300);
    for (const record of records) exporter.export(record);
    await new Promise((resolve) => setImmediate(resolve));
    server.setOutage(undefined);
    await exporter.close();
    const delivered = server.eventIds;
    const reported = new Set(recordsOf(errors, "overflow").map((record) => record.eventId));
    expect(delivered.has(records.at(-1)!.eventId)).toBe(true);
    for (const record of records) {
      expect(delivered.has(record.eventId) !== reported.has(record.eventId)).toBe(true);
    }
    expect(exporter.stats()).toMatchObject({
      delivered: delivered.size,
      dropped: reported.size,
      pending: 0,
    });
  });

  it("that outlasts the retries: every queued record is failed and reported once", async () => {
    server.setOutage({ status: 500 });
    const { exporter, errors } = exporterFor({
      retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
    });
    const records = makeRecords(150);
    for (const record of records) exporter.export(record);
    await exporter.close();
    const failed = recordsOf(errors, "retries-exhausted");
    const overflowed = recordsOf(errors, "overflow");
    expect(failed).toHaveLength(100);
    expect(overflowed).toHaveLength(50);
    expect(new Set([...failed, ...overflowed]).size).toBe(150);
    expect(exporter.stats()).toMatchObject({ failed: 100, dropped: 50, delivered: 0, pending: 0 });
  });
});
