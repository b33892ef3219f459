import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { SplunkHecExporter } from "@a1/siem-splunk";
import { Pool } from "undici";
import type { Scenario, ScenarioOutcome } from "../harness.js";
import { driveExporter, feed, startServerProcess, waitForRecords } from "../server-process.js";

const TOKEN = "3c6e0b8a-9c0c-4b6e-8f4a-6f1b2a7d9e10";
const SERVER_ENTRY = fileURLToPath(
  new URL("../../../packages/siem-splunk/test/support/hec-server-main.ts", import.meta.url),
);
/** The floor's request body: ~1 MiB of envelopes. */
const FLOOR_BODY_BYTES = 1024 * 1024;

interface HecCounters {
  readonly requests: number;
  readonly bytes: number;
  readonly indexed: number;
  readonly distinct: number;
  readonly duplicates: number;
}

interface Hec {
  readonly url: string;
  counters(): Promise<HecCounters>;
  stop(): void;
}

/** Starts the HEC test server in a process of its own. */
async function startHec(): Promise<Hec> {
  const server = await startServerProcess(SERVER_ENTRY, [], {
    ...process.env,
    HEC_TEST_TOKEN: TOKEN,
  });
  return {
    url: server.url,
    counters: () => server.get<HecCounters>("/__test__/stats"),
    stop: server.stop,
  };
}

/** Waits until HEC has every record, or until nothing new arrived for 10 s. */
function settle(hec: Hec, expected: number): Promise<HecCounters> {
  return waitForRecords(
    () => hec.counters(),
    (counters) => counters.distinct,
    expected,
  );
}

function outcome(counters: HecCounters, sent: number, notes: string): ScenarioOutcome {
  return {
    delivered: counters.distinct,
    lost: sent - counters.distinct,
    requests: counters.requests,
    bytes: counters.bytes,
    notes: `${notes}; duplicates at HEC ${counters.duplicates}`,
  };
}

function exporterScenario(name: string, compression: "gzip" | "none" | undefined): Scenario {
  return {
    group: "splunk",
    name,
    async run(context) {
      const hec = await startHec();
      try {
        const notes = await driveExporter(
          context,
          (onError) =>
            new SplunkHecExporter({
              url: hec.url,
              token: TOKEN,
              ...(compression === undefined ? {} : { compression }),
              onError,
            }),
        );
        const counters = await settle(hec, context.records.length);
        return outcome(counters, context.records.length, notes);
      } finally {
        hec.stop();
      }
    },
  };
}

interface SplunkLogger {
  readonly serializedContextQueue: readonly unknown[];
  send(context: { message: unknown; metadata?: Record<string, unknown> }): void;
  flush(callback?: () => void): void;
  error: (error: Error, context: unknown) => void;
  eventFormatter: (message: unknown, severity: string) => unknown;
}

export const scenarios: Scenario[] = [
  {
    group: "splunk",
    name: "stringify envelopes + undici POSTs of ~1 MiB (floor)",
    floor: true,
    async run(context) {
      const hec = await startHec();
      const pool = new Pool(hec.url, { connections: 2 });
      try {
        const headers = { authorization: `Splunk ${TOKEN}`, "content-type": "application/json" };
        const inFlight = new Set<Promise<void>>();
        let parts: string[] = [];
        let size = 0;
        const post = async (body: string) => {
          const response = await pool.request({
            path: "/services/collector/event",
            method: "POST",
            headers,
            body,
          });
          await response.body.dump();
        };
        const send = () => {
          const sending = post(parts.join("")).finally(() => inFlight.delete(sending));
          inFlight.add(sending);
          parts = [];
          size = 0;
        };
        await feed(
          context,
          (record) => {
            const envelope = JSON.stringify({
              time: record.timestampUnix,
              source: "a1",
              sourcetype: "_json",
              event: record,
            });
            parts.push(envelope);
            size += envelope.length;
            if (size >= FLOOR_BODY_BYTES) send();
          },
          () => inFlight.size * 1500,
          2 * 1500,
        );
        if (parts.length > 0) send();
        await Promise.all(inFlight);
        const counters = await settle(hec, context.records.length);
        return outcome(counters, context.records.length, "no retries, no accounting");
      } finally {
        await pool.close();
        hec.stop();
      }
    },
  },
  exporterScenario("SplunkHecExporter (defaults: compression none)", undefined),
  exporterScenario("SplunkHecExporter (compression gzip)", "gzip"),
  {
    group: "splunk",
    name: "splunk-logging 0.11.1 (batchInterval 1000, maxBatchCount 1000, maxBatchSize 1 MB)",
    async run(context) {
      const hec = await startHec();
      try {
        const { Logger } = createRequire(import.meta.url)("splunk-logging") as {
          Logger: new (config: Record<string, unknown>) => SplunkLogger;
        };
        const logger = new Logger({
          token: TOKEN,
          url: hec.url,
          batchInterval: 1000,
          maxBatchCount: 1000,
          maxBatchSize: 1_000_000,
        });
        // The record itself is the event (its toJSON is the wire form).
        logger.eventFormatter = (message) => message;
        let errors = 0;
        logger.error = () => {
          errors++;
        };
        const metadata = { source: "a1", sourcetype: "_json" };
        await feed(context, (record) =>
          logger.send({ message: record, metadata: { ...metadata, time: record.timestampUnix } }),
        );
        // Its last partial batch (an empty flush would get HEC's "No data").
        if (logger.serializedContextQueue.length > 0) logger.flush();
        const counters = await settle(hec, context.records.length);
        return outcome(
          counters,
          context.records.length,
          `no retry of HTTP errors, no accounting; ${errors} error callbacks`,
        );
      } finally {
        hec.stop();
      }
    },
  },
];
