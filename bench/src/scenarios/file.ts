// The "file" group: the same 100,000 records' NDJSON lines into a file in
// ctx.tmpDir, by NdjsonFileExporter and by the usual ways of writing lines in
// Node. Every scenario serialises each record exactly once with
// JSON.stringify(record.toDict()) (the exporter through record.toNdjson(),
// which is that, uncached at the start; the peers through
// JSON.stringify(record), whose toJSON() is toDict()), so that only the
// writing differs. The timed call is export() for the exporter, and
// serialise + write for a peer: what an application's hot path pays.
import { once } from "node:events";
import { appendFileSync, createWriteStream, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NdjsonFileExporter } from "@a1/siem-file";
import pino from "pino";
import type { Scenario, ScenarioContext, ScenarioOutcome } from "../harness.js";

const group = "file";

/** What every peer reports: the file's size, to compare with the floor's. */
function fileOutcome(path: string, notes?: string): ScenarioOutcome {
  return { bytes: statSync(path).size, ...(notes ? { notes } : {}) };
}

async function exporterRun(ctx: ScenarioContext, flushEvery: number): Promise<ScenarioOutcome> {
  const path = join(ctx.tmpDir, "audit.ndjson");
  const exporter = new NdjsonFileExporter(path, { flushEvery });
  for (const record of ctx.records) ctx.timeCall(() => exporter.export(record));
  await exporter.close();
  const stats = exporter.stats();
  return {
    delivered: stats.delivered,
    lost: stats.received - stats.delivered,
    bytes: statSync(path).size,
  };
}

export const scenarios: Scenario[] = [
  {
    group,
    name: "floor: JSON.stringify + one writeFileSync",
    floor: true,
    async run(ctx) {
      const path = join(ctx.tmpDir, "audit.ndjson");
      const lines = ctx.records.map((record) => JSON.stringify(record.toDict()));
      writeFileSync(path, `${lines.join("\n")}\n`);
      return fileOutcome(path, "every scenario: JSON.stringify(record.toDict()) once per record");
    },
  },
  {
    group,
    name: "NdjsonFileExporter flushEvery 1",
    run: (ctx) => exporterRun(ctx, 1),
  },
  {
    group,
    name: "NdjsonFileExporter flushEvery 1000",
    run: (ctx) => exporterRun(ctx, 1000),
  },
  {
    group,
    name: "pino.destination sync (sonic-boom)",
    async run(ctx) {
      const path = join(ctx.tmpDir, "audit.ndjson");
      const dest = pino.destination({ dest: path, sync: true });
      for (const record of ctx.records) {
        ctx.timeCall(() => dest.write(`${JSON.stringify(record)}\n`));
      }
      dest.end();
      await once(dest, "close");
      return fileOutcome(path);
    },
  },
  {
    group,
    name: "pino.destination async minLength 4096",
    async run(ctx) {
      const path = join(ctx.tmpDir, "audit.ndjson");
      const dest = pino.destination({ dest: path, sync: false, minLength: 4096 });
      await once(dest, "ready");
      for (const record of ctx.records) {
        ctx.timeCall(() => dest.write(`${JSON.stringify(record)}\n`));
      }
      dest.flushSync();
      dest.end();
      await once(dest, "close");
      return fileOutcome(path);
    },
  },
  {
    group,
    name: "fs.appendFileSync per line",
    async run(ctx) {
      const path = join(ctx.tmpDir, "audit.ndjson");
      for (const record of ctx.records) {
        ctx.timeCall(() => appendFileSync(path, `${JSON.stringify(record)}\n`));
      }
      return fileOutcome(path);
    },
  },
  {
    group,
    name: "fs.createWriteStream",
    async run(ctx) {
      const path = join(ctx.tmpDir, "audit.ndjson");
      const stream = createWriteStream(path, { flags: "a" });
      for (const record of ctx.records) {
        ctx.timeCall(() => stream.write(`${JSON.stringify(record)}\n`));
      }
      stream.end();
      await once(stream, "close");
      return fileOutcome(path, "no backpressure: the lines wait in memory until the loop ends");
    },
  },
];
