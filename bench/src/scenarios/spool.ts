// The "spool" group: what the durable spool costs. The same 100,000 records
// through BufferedExporter into a backend that accepts every batch at once,
// with the spool off and in each fsync mode. The spool serialises each record
// on export() (it must be on disk before export() returns), so the timed call
// includes that; without the spool, export() only enqueues.
import { join } from "node:path";
import { BufferedExporter, type SpoolFsync } from "@a1/siem-core";
import type { Scenario, ScenarioContext, ScenarioOutcome } from "../harness.js";

const group = "spool";

async function run(ctx: ScenarioContext, fsync: SpoolFsync | undefined): Promise<ScenarioOutcome> {
  let delivered = 0;
  const exporter = new BufferedExporter(
    {
      async exportBatch(records) {
        delivered += records.length;
      },
    },
    {
      batchSize: 1000,
      maxQueueSize: 200_000,
      ...(fsync ? { spool: { dir: join(ctx.tmpDir, "spool"), fsync } } : {}),
    },
  );
  for (const record of ctx.records) ctx.timeCall(() => exporter.export(record));
  await exporter.close();
  const stats = exporter.stats();
  return { delivered, lost: stats.received - delivered };
}

export const scenarios: Scenario[] = [
  {
    group,
    name: "floor: JSON.stringify of each record",
    floor: true,
    async run(ctx) {
      let bytes = 0;
      for (const record of ctx.records) bytes += JSON.stringify(record).length;
      return { bytes };
    },
  },
  { group, name: "BufferedExporter, no spool", run: (ctx) => run(ctx, undefined) },
  { group, name: "BufferedExporter, spool fsync never", run: (ctx) => run(ctx, "never") },
  {
    group,
    name: "BufferedExporter, spool fsync interval (1 s)",
    run: (ctx) => run(ctx, "interval"),
  },
  { group, name: "BufferedExporter, spool fsync always", run: (ctx) => run(ctx, "always") },
];
