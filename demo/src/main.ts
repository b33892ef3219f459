// The README's main job: exports sample A1 authorization events through the
// @a1/siem packages — always to an NDJSON file, and to every SIEM whose
// environment variables are set — then prints what each exporter did.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { AuditExporter, ExportError, ExporterStats } from "@a1/siem-core";
import { CompositeExporter } from "@a1/siem-core";
import { NdjsonFileExporter } from "@a1/siem-file";
import { sampleEvents } from "./sample-events.js";

const USAGE = `usage: pnpm demo [--count N] [--out FILE] [--help]

Exports N sample authorization events (default 10000) to FILE (default
./audit.ndjson), and also to:
  Splunk HEC      when SPLUNK_HEC_URL and SPLUNK_HEC_TOKEN are set
  Datadog Logs    when DD_API_KEY is set (DD_SITE picks the site;
                  A1_DEMO_DATADOG_URL sends to another intake, e.g. a local one)
  OpenTelemetry   when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_LOGS_ENDPOINT is set`;

function fail(message: string): never {
  console.error(`demo: ${message}\n\n${USAGE}`);
  process.exit(2);
}

let args: { count: string; out: string; help: boolean };
try {
  args = parseArgs({
    options: {
      count: { type: "string", short: "n", default: "10000" },
      out: { type: "string", short: "o", default: "audit.ndjson" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  }).values as typeof args;
} catch (error) {
  fail((error as Error).message);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
if (
  !/^\d+$/.test(args.count) ||
  Number(args.count) < 1 ||
  !Number.isSafeInteger(Number(args.count))
) {
  fail(`--count must be a positive integer, got ${JSON.stringify(args.count)}`);
}
const count = Number(args.count);
const out = resolve(process.cwd(), args.out);

const failures = new Map<string, number>();
const onError = (name: string) => (error: ExportError) => {
  const key = `${name}: ${error.reason}${error.status ? ` (HTTP ${error.status})` : ""} — ${error.message}`;
  failures.set(key, (failures.get(key) ?? 0) + (error.records.length || error.rejectedCount || 0));
};

const exporters: { name: string; exporter: AuditExporter }[] = [
  {
    name: `NDJSON file ${out}`,
    exporter: new NdjsonFileExporter(out, { flushEvery: 100, onError: onError("file") }),
  },
];

/** Adds a backend when its package is installed and its environment is set; says why otherwise. */
async function addBackend(
  name: string,
  wanted: boolean,
  make: () => Promise<AuditExporter>,
): Promise<void> {
  if (!wanted) return;
  try {
    exporters.push({ name, exporter: await make() });
  } catch (error) {
    console.error(`demo: skipping ${name}: ${(error as Error).message}`);
  }
}
const env = process.env;
// A demo should not sit out ten retries of an unreachable SIEM at the end.
const delivery = {
  retry: { maxAttempts: 4, initialDelayMs: 250, maxDelayMs: 2000 },
  timeoutMs: 5000,
};
// Package names go through a variable so that the demo runs with only the
// packages that are installed.
const load = (name: string) => import(name);
await addBackend(
  `Splunk HEC ${env.SPLUNK_HEC_URL}`,
  Boolean(env.SPLUNK_HEC_URL && env.SPLUNK_HEC_TOKEN),
  async () => {
    const { SplunkHecExporter } = await load("@a1/siem-splunk");
    return new SplunkHecExporter({
      url: env.SPLUNK_HEC_URL,
      ...delivery,
      onError: onError("splunk"),
    });
  },
);
await addBackend(
  `Datadog Logs ${env.A1_DEMO_DATADOG_URL ?? env.DD_SITE ?? "datadoghq.com"}`,
  Boolean(env.DD_API_KEY),
  async () => {
    const { DatadogLogExporter } = await load("@a1/siem-datadog");
    return new DatadogLogExporter({
      ...(env.A1_DEMO_DATADOG_URL ? { url: env.A1_DEMO_DATADOG_URL } : {}),
      ...delivery,
      onError: onError("datadog"),
    });
  },
);
await addBackend(
  `OpenTelemetry ${env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT}`,
  Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT),
  async () => {
    const { OpenTelemetryExporter } = await load("@a1/siem-otel");
    return new OpenTelemetryExporter({ ...delivery, onError: onError("otel") });
  },
);

const exporter = new CompositeExporter(exporters.map((entry) => entry.exporter));
console.log(`Exporting ${count} authorization events to ${exporters.length} exporter(s):`);
for (const { name } of exporters) console.log(`  - ${name}`);

const outcomes = new Map<string, number>();
const started = performance.now();
const progressEvery = Math.max(1, Math.floor(count / 10));
const tty = process.stderr.isTTY;
let exported = 0;
for (const event of sampleEvents(count)) {
  exporter.exportDict(event);
  outcomes.set(String(event.outcome), (outcomes.get(String(event.outcome)) ?? 0) + 1);
  exported++;
  if (count >= 10_000 && exported % progressEvery === 0) {
    const line = `  exported ${exported}/${count} (${Math.round((exported / count) * 100)} %)`;
    process.stderr.write(tty ? `\r${line}` : `${line}\n`);
    // Let the exporters' timers and sockets run between chunks of a long run.
    await new Promise((next) => setImmediate(next));
  }
}
if (tty && count >= 10_000) process.stderr.write("\n");
const exportedMs = performance.now() - started;
if (exporters.length > 1)
  console.log("Waiting for every exporter to deliver or report what it holds …");
await exporter.close();
const totalMs = performance.now() - started;

console.log("\nOutcomes:");
for (const [outcome, n] of [...outcomes].sort((a, b) => b[1] - a[1])) {
  console.log(
    `  ${outcome.padEnd(18)} ${String(n).padStart(8)}  (${((n / count) * 100).toFixed(1)} %)`,
  );
}
const columns = ["received", "delivered", "failed", "dropped", "pending", "retries"] as const;
console.log("\nExporters:");
console.log(`  ${"exporter".padEnd(44)} ${columns.map((c) => c.padStart(9)).join(" ")}`);
const stats = exporter.stats();
stats.children.forEach((child: ExporterStats, index: number) => {
  const name = exporters[index]!.name;
  const label = name.length > 44 ? `${name.slice(0, 41)}...` : name;
  console.log(
    `  ${label.padEnd(44)} ${columns.map((c) => String(child[c]).padStart(9)).join(" ")}`,
  );
});
for (const [failure, n] of failures) console.log(`  ! ${n} record(s) ${failure}`);
console.log(
  `\nThroughput: ${Math.round(count / (exportedMs / 1000))} events/s through export(); ` +
    `${Math.round(count / (totalMs / 1000))} events/s until every exporter closed (${totalMs.toFixed(0)} ms).`,
);
const lost = stats.received - stats.delivered;
if (lost > 0) {
  console.log(`${lost} delivery(ies) did not succeed; see the lines marked ! above.`);
  process.exitCode = 1;
}
