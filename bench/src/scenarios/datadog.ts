import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { DatadogLogExporter } from "@a1/siem-datadog";
import { client, v2 } from "@datadog/datadog-api-client";
import pino from "pino";
import { Pool } from "undici";
import type { Scenario, ScenarioOutcome } from "../harness.js";
import { driveExporter, feed, startServerProcess, waitForRecords } from "../server-process.js";

const API_KEY = "0123456789abcdef0123456789abcdef";
const SERVER_ENTRY = fileURLToPath(
  new URL("../../../packages/siem-datadog/test/support/intake-server-main.ts", import.meta.url),
);
const gzipAsync = promisify(gzip);

interface IntakeCounters {
  readonly requests: number;
  readonly bytes: number;
  readonly entries: number;
  readonly uniqueIds: number;
  readonly duplicates: number;
  readonly statuses: Record<string, number>;
}

interface Intake {
  readonly url: string;
  readonly port: number;
  counters(): Promise<IntakeCounters>;
  stop(): void;
}

/** Starts the test intake in a process of its own. */
async function startIntake(): Promise<Intake> {
  const server = await startServerProcess(SERVER_ENTRY, [API_KEY]);
  return {
    url: server.url,
    port: server.port,
    counters: () => server.get<IntakeCounters>("/_intake/counters"),
    stop: server.stop,
  };
}

/** Waits until the intake has every record, or until nothing new arrived for 10 s. */
function settle(intake: Intake, expected: number): Promise<IntakeCounters> {
  return waitForRecords(
    () => intake.counters(),
    (counters) => counters.uniqueIds,
    expected,
  );
}

function outcome(counters: IntakeCounters, sent: number, notes?: string): ScenarioOutcome {
  return {
    delivered: counters.uniqueIds,
    lost: sent - counters.uniqueIds,
    requests: counters.requests,
    bytes: counters.bytes,
    ...(notes === undefined ? {} : { notes }),
  };
}

function datadogExporterScenario(
  name: string,
  options: { compression?: "gzip" | "none"; gzipLevel?: number },
): Scenario {
  return {
    group: "datadog",
    name,
    async run(context) {
      const intake = await startIntake();
      try {
        const notes = await driveExporter(
          context,
          (onError) =>
            new DatadogLogExporter({
              apiKey: API_KEY,
              url: intake.url,
              hostname: "bench-host",
              ...options,
              onError,
            }),
        );
        const counters = await settle(intake, context.records.length);
        return outcome(counters, context.records.length, notes);
      } finally {
        intake.stop();
      }
    },
  };
}

export const scenarios: Scenario[] = [
  {
    group: "datadog",
    name: "JSON.stringify (floor)",
    floor: true,
    async run(context) {
      let bytes = 0;
      for (const record of context.records) {
        context.timeCall(() => {
          bytes += JSON.stringify(record).length;
        });
      }
      return { notes: `${bytes} characters, nothing sent` };
    },
  },
  {
    group: "datadog",
    name: "stringify + gzip + undici POST of 1,000 (reference)",
    async run(context) {
      const intake = await startIntake();
      const pool = new Pool(intake.url, { connections: 2 });
      try {
        const inFlight = new Set<Promise<void>>();
        let batch: string[] = [];
        const post = async (entries: string[]) => {
          const body = await gzipAsync(`[${entries.join(",")}]`);
          const response = await pool.request({
            path: "/api/v2/logs",
            method: "POST",
            headers: {
              "dd-api-key": API_KEY,
              "content-type": "application/json",
              "content-encoding": "gzip",
            },
            body,
          });
          await response.body.dump();
        };
        const send = () => {
          const sending = post(batch).finally(() => inFlight.delete(sending));
          inFlight.add(sending);
          batch = [];
        };
        await feed(
          context,
          (record) => {
            batch.push(JSON.stringify(record));
            if (batch.length === 1000) send();
          },
          () => inFlight.size * 1000,
          1000,
        );
        if (batch.length > 0) send();
        await Promise.all(inFlight);
        return outcome(await settle(intake, context.records.length), context.records.length);
      } finally {
        await pool.close();
        intake.stop();
      }
    },
  },
  datadogExporterScenario("DatadogLogExporter (gzip, default level 1)", {}),
  datadogExporterScenario("DatadogLogExporter (gzipLevel: 6)", { gzipLevel: 6 }),
  datadogExporterScenario("DatadogLogExporter (compression: none)", { compression: "none" }),
  {
    group: "datadog",
    name: "pino-datadog-transport",
    async run(context) {
      const intake = await startIntake();
      try {
        const transport = pino.transport({
          target: "pino-datadog-transport",
          options: {
            ddClientConf: {
              authMethods: { apiKeyAuth: API_KEY },
              // The client's second server template is `{protocol}://{name}`.
              serverIndex: 1,
            },
            ddServerConf: { protocol: "http", name: `127.0.0.1:${intake.port}` },
            service: "a1",
            ddsource: "a1",
            sendIntervalMs: 1000,
          },
        });
        const logger = pino({ base: undefined }, transport);
        await feed(context, (record) => logger.info(record.toDict()));
        const counters = await settle(intake, context.records.length);
        transport.end();
        return outcome(
          counters,
          context.records.length,
          "message only; no top-level record fields",
        );
      } finally {
        intake.stop();
      }
    },
  },
  {
    group: "datadog",
    name: "@datadog/datadog-api-client submitLog (1,000/batch, gzip)",
    async run(context) {
      const intake = await startIntake();
      try {
        const configuration = client.createConfiguration({
          authMethods: { apiKeyAuth: API_KEY },
          operationServerIndices: { "v2.LogsApi.submitLog": 1 },
        });
        configuration.setServerVariables({ protocol: "http", name: `127.0.0.1:${intake.port}` });
        const api = new v2.LogsApi(configuration);
        const inFlight = new Set<Promise<void>>();
        let failed = 0;
        let batch: v2.HTTPLogItem[] = [];
        const send = () => {
          const sending: Promise<void> = api
            .submitLog({ body: batch, contentEncoding: "gzip" })
            .then(
              () => {},
              () => {
                failed++;
              },
            )
            .finally(() => inFlight.delete(sending));
          inFlight.add(sending);
          batch = [];
        };
        await feed(
          context,
          (record) => {
            batch.push({
              ddsource: "a1",
              service: "a1",
              hostname: "bench-host",
              message: JSON.stringify(record),
            });
            if (batch.length === 1000) send();
          },
          () => inFlight.size * 1000,
          1000,
        );
        if (batch.length > 0) send();
        await Promise.all(inFlight);
        return outcome(
          await settle(intake, context.records.length),
          context.records.length,
          `message only; no top-level record fields${failed > 0 ? `; ${failed} failed requests` : ""}`,
        );
      } finally {
        intake.stop();
      }
    },
  },
];
