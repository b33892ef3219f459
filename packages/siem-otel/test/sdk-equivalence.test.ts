// The exporter builds the SDK's ReadableLogRecords itself and serialises them
// with the SDK's serializers. These tests pin that down against the SDK: the
// test schema decodes the SDK's protobuf and JSON alike, and a record sent by
// the exporter equals, field for field, the LogRecord the plain SDK sends
// (LoggerProvider → Logger.emit → OTLPLogExporter) for the same data.
import { ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { JsonLogsSerializer, ProtobufLogsSerializer } from "@opentelemetry/otlp-transformer";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import { LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import fc from "fast-check";
import { afterAll, beforeAll, expect, test } from "vitest";
import packageJson from "../package.json" with { type: "json" };
import {
  attributesOf,
  EVENT_NAME,
  eventTimeOf,
  severityOf,
  spanContextOf,
} from "../src/log-record-mapping.js";
import { toReadableLogRecord } from "../src/readable-log-record.js";
import { exporterFor } from "./support/harness.js";
import {
  countJsonLogRecords,
  countProtobufLogRecords,
  decodeLogsRequest,
} from "./support/otlp-decode.js";
import { OtlpTestServer } from "./support/otlp-server.js";
import { arbitraryRecord, deniedRecord } from "./support/records.js";

let server: OtlpTestServer;
beforeAll(async () => {
  server = await OtlpTestServer.start();
});
afterAll(() => server.close());

const resource = defaultResource().merge(resourceFromAttributes({ "service.name": "a1" }));

test("the test schema decodes the SDK's protobuf exactly as the SDK's JSON", () => {
  fc.assert(
    fc.property(fc.array(arbitraryRecord, { minLength: 1, maxLength: 10 }), (records) => {
      const logs = records.map((record) =>
        toReadableLogRecord(record, resource, [1_700_000_000, 5], true),
      );
      const protobufBody = Buffer.from(ProtobufLogsSerializer.serializeRequest(logs)!);
      const jsonBody = Buffer.from(JsonLogsSerializer.serializeRequest(logs)!);
      const fromProtobuf = decodeLogsRequest(protobufBody, "application/x-protobuf");
      const fromJson = decodeLogsRequest(jsonBody, "application/json");
      // The benchmark receiver's counters agree with the full decode.
      expect(countProtobufLogRecords(protobufBody)).toBe(records.length);
      expect(countJsonLogRecords(jsonBody)).toBe(records.length);
      expect(fromProtobuf).toEqual(fromJson);
      expect(fromProtobuf).toHaveLength(records.length);
      expect(fromProtobuf[0]!.observedTimeUnixNano).toBe("1700000000000000005");
    }),
    { numRuns: 100 },
  );
});

test("a record sent by the exporter equals the LogRecord the plain SDK sends for it", async () => {
  const records = [
    deniedRecord(),
    deniedRecord({ outcome: "AUTHORIZED", eventId: "ok", extra: { n: 7 } }),
  ];

  // The plain SDK, as an application would wire it.
  const provider = new LoggerProvider({
    resource,
    processors: [
      new SimpleLogRecordProcessor({
        exporter: new OTLPLogExporter({ url: `${server.endpoint}/v1/logs` }),
      }),
    ],
  });
  const logger = provider.getLogger(packageJson.name, packageJson.version);
  for (const record of records) {
    const spanContext = spanContextOf(record);
    logger.emit({
      eventName: EVENT_NAME,
      timestamp: eventTimeOf(record),
      severityNumber: severityOf(record.outcome),
      severityText: record.outcome,
      body: record.toNdjson(),
      attributes: attributesOf(record, spanContext !== undefined),
      context: spanContext ? trace.setSpanContext(ROOT_CONTEXT, spanContext) : ROOT_CONTEXT,
    });
  }
  await provider.shutdown();
  const fromSdk = server.requests.flatMap((request) => request.records);
  const sdkRequests = server.requests.length;

  const { exporter, errors } = exporterFor(server, { protocol: "http/json" });
  for (const record of records) exporter.export(record);
  await exporter.close();
  expect(errors).toEqual([]);
  const ours = server.requests.slice(sdkRequests).flatMap((request) => request.records);

  expect(fromSdk).toHaveLength(2);
  const withoutObserved = ({ observedTimeUnixNano: _, ...rest }: (typeof ours)[number]) => rest;
  expect(ours.map(withoutObserved)).toEqual(fromSdk.map(withoutObserved));
  expect(server.requests[0]!.contentType).toBe(server.requests.at(-1)!.contentType);
});
