import { fileURLToPath } from "node:url";
import type { AuditRecord } from "@a1/siem-core";
import { OpenTelemetryExporter, type OpenTelemetryExporterOptions } from "@a1/siem-otel";
import { ROOT_CONTEXT, type SpanContext, TraceFlags, trace } from "@opentelemetry/api";
import { type LogAttributes, SeverityNumber } from "@opentelemetry/api-logs";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchLogRecordProcessor,
  type BatchLogRecordProcessorOptions,
  LoggerProvider,
} from "@opentelemetry/sdk-logs";
import type { Scenario, ScenarioContext, ScenarioOutcome } from "../harness.js";
import { startServerProcess } from "../server-process.js";

const SERVER_ENTRY = fileURLToPath(
  new URL("../../../packages/siem-otel/test/support/otlp-server-main.ts", import.meta.url),
);

interface Receiver {
  readonly endpoint: string;
  stats(): Promise<{ requests: number; acceptedRecords: number; wireBytes: number }>;
  stop(): void;
}

/** Starts the OTLP receiver in a process of its own. */
async function startReceiver(delayMs: number): Promise<Receiver> {
  const server = await startServerProcess(SERVER_ENTRY, ["--delay-ms", String(delayMs)]);
  return { endpoint: server.url, stats: () => server.get("/stats"), stop: server.stop };
}

async function outcome(
  receiver: Receiver,
  emitted: number,
  notes: string,
): Promise<ScenarioOutcome> {
  const stats = await receiver.stats();
  receiver.stop();
  return {
    delivered: stats.acceptedRecords,
    lost: emitted - stats.acceptedRecords,
    requests: stats.requests,
    bytes: stats.wireBytes,
    notes,
  };
}

/** Enough room for the whole run: the loop exports 100,000 records in one synchronous burst. */
const QUEUE = 1_000_000;

function ours(name: string, delayMs: number, options: OpenTelemetryExporterOptions = {}): Scenario {
  return {
    group: "otel",
    name,
    async run({ records, timeCall }: ScenarioContext) {
      const receiver = await startReceiver(delayMs);
      let reported = 0;
      const exporter = new OpenTelemetryExporter({
        endpoint: receiver.endpoint,
        maxQueueSize: QUEUE,
        onError: (error) => {
          reported += error.rejectedCount ?? error.records.length;
        },
        ...options,
      });
      for (const record of records) timeCall(() => exporter.export(record));
      await exporter.close();
      const stats = exporter.stats();
      return outcome(
        receiver,
        records.length,
        `stats: delivered ${stats.delivered}, failed ${stats.failed}, dropped ${stats.dropped}, retries ${stats.retries}; reported ${reported}`,
      );
    },
  };
}

/** The same LogRecord fields as OpenTelemetryExporter, emitted through the plain SDK. */
function emitAll(
  records: readonly AuditRecord[],
  timeCall: ScenarioContext["timeCall"],
  processor: Partial<BatchLogRecordProcessorOptions>,
  endpoint: string,
): LoggerProvider {
  const provider = new LoggerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ "service.name": "a1" })),
    processors: [
      new BatchLogRecordProcessor({
        exporter: new OTLPLogExporter({ url: `${endpoint}/v1/logs` }),
        ...processor,
      }),
    ],
  });
  const logger = provider.getLogger("bench");
  for (const record of records) {
    timeCall(() => {
      const extra = record.extra;
      const spanContext: SpanContext | undefined =
        typeof extra.trace_id === "string" && typeof extra.span_id === "string"
          ? { traceId: extra.trace_id, spanId: extra.span_id, traceFlags: TraceFlags.NONE }
          : undefined;
      const attributes = record.toDict() as LogAttributes;
      if (spanContext) {
        delete attributes.span_id;
        delete attributes.trace_id;
      }
      logger.emit({
        eventName: "a1.authorization",
        timestamp: [record.timestampUnix, 0],
        severityNumber: record.outcome === "AUTHORIZED" ? SeverityNumber.INFO : SeverityNumber.WARN,
        severityText: record.outcome,
        body: record.toNdjson(),
        attributes,
        context: spanContext ? trace.setSpanContext(ROOT_CONTEXT, spanContext) : ROOT_CONTEXT,
      });
    });
  }
  return provider;
}

function plainSdk(
  name: string,
  delayMs: number,
  processor: Partial<BatchLogRecordProcessorOptions>,
): Scenario {
  return {
    group: "otel",
    name,
    async run({ records, timeCall }: ScenarioContext) {
      const receiver = await startReceiver(delayMs);
      const provider = emitAll(records, timeCall, processor, receiver.endpoint);
      await provider.forceFlush();
      await provider.shutdown();
      return outcome(
        receiver,
        records.length,
        `BatchLogRecordProcessor ${processor.maxQueueSize === undefined ? "defaults (queue 2048)" : `maxQueueSize ${processor.maxQueueSize}`}, OTLPLogExporter (JSON)`,
      );
    },
  };
}

export const scenarios: Scenario[] = [
  {
    group: "otel",
    name: "floor: JSON.stringify",
    floor: true,
    async run({ records, timeCall }) {
      let bytes = 0;
      for (const record of records) {
        timeCall(() => {
          bytes += JSON.stringify(record).length;
        });
      }
      return { delivered: records.length, lost: 0, bytes, notes: "JSON.stringify of each record" };
    },
  },
  ours("OpenTelemetryExporter (http/json, the default)", 0),
  ours("OpenTelemetryExporter (http/protobuf)", 0, { protocol: "http/protobuf" }),
  plainSdk("plain SDK, queue 1,000,000", 0, { maxQueueSize: QUEUE }),
  plainSdk("plain SDK, defaults", 0, {}),
  ours("OpenTelemetryExporter (http/json), receiver 20 ms late", 20),
  plainSdk("plain SDK, queue 1,000,000, receiver 20 ms late", 20, { maxQueueSize: QUEUE }),
  plainSdk("plain SDK, defaults, receiver 20 ms late", 20, {}),
];
