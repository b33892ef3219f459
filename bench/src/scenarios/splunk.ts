// Splunk HEC: 100,000 records to the local HEC test server
// (packages/siem-splunk/test/support/hec-server.ts), which runs in a process
// of its own so that its CPU is not counted, side by side with Splunk's own
// client, splunk-logging, configured for batching as its README advises.
//
// Every scenario serialises each record once: the floor and splunk-logging
// through JSON.stringify of the envelope (the record's toJSON), the exporter
// through the record's cached toNdjson().
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { AuditRecord } from "@a1/siem-core";
import { SplunkHecExporter } from "@a1/siem-splunk";
import { Pool } from "undici";
import type { Scenario, ScenarioContext, ScenarioOutcome } from "../harness.js";

const TOKEN = "3c6e0b8a-9c0c-4b6e-8f4a-6f1b2a7d9e10";
const SERVER_ENTRY = fileURLToPath(
  new URL("../../../packages/siem-splunk/test/support/hec-server-main.ts", import.meta.url),
);
/** Records exported between two yields to the event loop (lets batches go out). */
const CHUNK = 1000;
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

/** Spawns the HEC test server (`node --import tsx …`) and reads its address from its first line. */
async function startHec(): Promise<Hec> {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", import.meta.resolve("tsx"), SERVER_ENTRY],
    { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, HEC_TEST_TOKEN: TOKEN } },
  );
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`HEC test server exited with ${code}`)));
  });
  lines.close();
  const { url } = JSON.parse(first) as { url: string };
  const control = new Pool(url, { connections: 1 });
  return {
    url,
    counters: async () => {
      const { body } = await control.request({ path: "/__test__/stats", method: "GET" });
      return (await body.json()) as HecCounters;
    },
    stop: () => {
      void control.close();
      child.kill("SIGTERM");
    },
  };
}

/** Waits until HEC has every record, or until nothing new arrived for `idleMs`. */
async function settle(hec: Hec, expected: number, idleMs = 10_000): Promise<HecCounters> {
  let last = await hec.counters();
  let since = Date.now();
  while (last.distinct < expected && Date.now() - since < idleMs) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const now = await hec.counters();
    if (now.distinct !== last.distinct) since = Date.now();
    last = now;
  }
  return last;
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

/**
 * Calls `exportOne` for every record, timing each call, and yields to the
 * event loop every CHUNK records (an application serving requests does). With
 * `backlog`, waits while the client holds more than `maxBacklog` records, so
 * that a bounded queue is never overrun by a producer faster than the wire.
 * It waits on a 1 ms timer, not by spinning the event loop: a spin would
 * burn CPU that is the benchmark's, not the client's.
 */
async function feed(
  context: ScenarioContext,
  exportOne: (record: AuditRecord) => void,
  backlog?: () => number,
  maxBacklog = 20_000,
): Promise<void> {
  const { records } = context;
  for (let start = 0; start < records.length; start += CHUNK) {
    const end = Math.min(records.length, start + CHUNK);
    for (let i = start; i < end; i++) {
      const record = records[i]!;
      context.timeCall(() => exportOne(record));
    }
    await nextTurn();
    while (backlog !== undefined && backlog() > maxBacklog) await sleep(1);
  }
}

function exporterScenario(name: string, compression: "gzip" | "none" | undefined): Scenario {
  return {
    group: "splunk",
    name,
    async run(context) {
      const hec = await startHec();
      try {
        const failures: string[] = [];
        const exporter = new SplunkHecExporter({
          url: hec.url,
          token: TOKEN,
          ...(compression === undefined ? {} : { compression }),
          onError: (error) => failures.push(`${error.reason}: ${error.records.length}`),
        });
        await feed(
          context,
          (record) => exporter.export(record),
          () => exporter.stats().pending,
        );
        await exporter.close();
        const stats = exporter.stats();
        const counters = await settle(hec, context.records.length);
        return outcome(
          counters,
          context.records.length,
          `stats ${JSON.stringify(stats)}${failures.length > 0 ? `; errors ${failures.slice(0, 3).join(", ")}` : ""}`,
        );
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
