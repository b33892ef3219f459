// The loggerProvider mode: records go through the application's own
// OpenTelemetry pipeline; flush() is its forceFlush(), close() never shuts it down.
import type { ExportError } from "@a1/siem-core";
import type { Logger, LogRecord } from "@opentelemetry/api-logs";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchLogRecordProcessor, LoggerProvider } from "@opentelemetry/sdk-logs";
import { afterAll, beforeAll, expect, test } from "vitest";
import packageJson from "../package.json" with { type: "json" };
import { OpenTelemetryExporter } from "../src/index.js";
import { balanced, FAST } from "./support/harness.js";
import { plain } from "./support/otlp-decode.js";
import { OtlpTestServer } from "./support/otlp-server.js";
import { deniedRecord, manyRecords, SPAN_ID, TRACE_ID } from "./support/records.js";

let server: OtlpTestServer;
beforeAll(async () => {
  server = await OtlpTestServer.start();
});
afterAll(() => server.close());

/** An application's provider: batch processor that only sends when flushed, OTLP/HTTP JSON. */
function applicationProvider(): LoggerProvider {
  return new LoggerProvider({
    resource: resourceFromAttributes({ "service.name": "payments-api" }),
    processors: [
      new BatchLogRecordProcessor({
        exporter: new OTLPLogExporter({ url: `${server.endpoint}/v1/logs` }),
        scheduledDelayMillis: 60_000,
      }),
    ],
  });
}

test("records are emitted on the application's provider with the same LogRecord fields", async () => {
  const provider = applicationProvider();
  const errors: ExportError[] = [];
  const exporter = new OpenTelemetryExporter({
    ...FAST,
    loggerProvider: provider,
    onError: (e) => errors.push(e),
  });
  const from = server.accepted.length;
  const record = deniedRecord();
  exporter.export(record);
  exporter.export(deniedRecord({ eventId: "ok", outcome: "AUTHORIZED", extra: { n: 1 } }));
  // flush() settles the records and then forceFlush()es the provider's batch
  // processor, whose own delay (60 s) would otherwise hold them.
  await exporter.flush();
  const logs = server.accepted.slice(from);
  expect(logs).toHaveLength(2);
  const [denied, ok] = logs;
  expect(denied!.timeUnixNano).toBe("1733300000000000000");
  expect(denied!.severityNumber).toBe(13);
  expect(denied!.severityText).toBe("DENIED");
  expect(denied!.body).toEqual({ string: record.toNdjson() });
  expect(denied!.eventName).toBe("a1.authorization");
  expect([denied!.traceId, denied!.spanId]).toEqual([TRACE_ID, SPAN_ID]);
  expect(denied!.attributes.trace_id).toBeUndefined();
  expect(denied!.attributes.chain_depth).toEqual({ int: "3" });
  expect(ok!.severityNumber).toBe(9);
  expect(ok!.traceId).toBe("");
  // The application's Resource, this package's scope.
  expect(plain(denied!.resource["service.name"])).toBe("payments-api");
  expect(denied!.scope).toEqual({ name: "@a1/siem-otel", version: packageJson.version });
  // Delivered = handed to the provider.
  expect(exporter.stats()).toMatchObject({ received: 2, delivered: 2, pending: 0 });
  expect(errors).toEqual([]);
  await exporter.close();
  await provider.shutdown();
});

test("close() flushes the provider but leaves it running for the application", async () => {
  const provider = applicationProvider();
  const exporter = new OpenTelemetryExporter({ ...FAST, loggerProvider: provider });
  const from = server.accepted.length;
  for (const record of manyRecords(3, "closing")) exporter.export(record);
  await exporter.close();
  expect(server.accepted.length - from).toBe(3);
  expect(exporter.stats()).toMatchObject({ delivered: 3, pending: 0 });

  // The application's own logging still works after the exporter closed.
  provider.getLogger("app").emit({ body: "application log after close" });
  await provider.forceFlush();
  expect(server.accepted.at(-1)!.body).toEqual({ string: "application log after close" });
  // A record exported after close() is dropped and counted, as everywhere.
  exporter.export(manyRecords(1, "late")[0]!);
  expect(exporter.stats()).toMatchObject({ received: 4, dropped: 1 });
  await provider.shutdown();
});

test("a provider whose emit() throws: those records fail once, the others are not emitted twice", async () => {
  const emitted: LogRecord[] = [];
  let flushes = 0;
  const logger: Logger = {
    emit(logRecord) {
      const body = String(logRecord.body);
      if (body.includes('"r-1"') || body.includes('"r-3"')) throw new Error("processor bug");
      emitted.push(logRecord);
    },
    enabled: () => true,
  };
  const provider = {
    getLogger: () => logger,
    forceFlush: async () => {
      flushes++;
    },
  };
  const errors: ExportError[] = [];
  const exporter = new OpenTelemetryExporter({
    ...FAST,
    loggerProvider: provider,
    onError: (e) => errors.push(e),
  });
  for (const record of manyRecords(5)) exporter.export(record);
  await exporter.close();
  expect(emitted.map((r) => JSON.parse(String(r.body)).event_id)).toEqual(["r-0", "r-2", "r-4"]);
  expect(errors).toHaveLength(1);
  expect(errors[0]!.reason).toBe("rejected");
  expect(errors[0]!.records.map((r) => r.eventId)).toEqual(["r-1", "r-3"]);
  expect(errors[0]!.message).toContain("processor bug");
  expect(exporter.stats()).toMatchObject({ received: 5, delivered: 3, failed: 2, pending: 0 });
  expect(balanced(exporter.stats())).toBe(true);
  expect(flushes).toBeGreaterThanOrEqual(1);
  // The emitted LogRecord carries the time as HrTime seconds and the event name.
  expect(emitted[0]).toMatchObject({
    timestamp: [1_733_300_000, 0],
    eventName: "a1.authorization",
  });
});

test("a provider whose forceFlush() rejects: flush() still resolves and onError hears of it", async () => {
  const provider = {
    getLogger: (): Logger => ({ emit() {}, enabled: () => true }),
    forceFlush: () => Promise.reject(new Error("collector pipeline stuck")),
  };
  const errors: ExportError[] = [];
  const exporter = new OpenTelemetryExporter({
    ...FAST,
    loggerProvider: provider,
    onError: (e) => errors.push(e),
  });
  exporter.export(manyRecords(1)[0]!);
  await exporter.flush();
  expect(errors.map((e) => e.message)).toEqual([
    "the application's LoggerProvider failed to flush: collector pipeline stuck",
  ]);
  expect(exporter.stats().delivered).toBe(1);
  await exporter.close();
});
