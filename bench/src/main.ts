// Runs every scenario in bench/src/scenarios/*.ts, each in a process of its
// own, and prints the figures of each group side by side as ratios to the
// group's floor. Usage: pnpm bench [--records N] [--group NAME]...
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type { Measurement, Scenario } from "./harness.js";

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    records: { type: "string", default: "100000" },
    group: { type: "string", multiple: true },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log("usage: pnpm bench [--records N] [--group file|splunk|datadog|otel|spool]...");
  process.exit(0);
}
const records = Number(values.records);
if (!Number.isSafeInteger(records) || records <= 0) {
  console.error(`--records must be a positive integer, got ${values.records}`);
  process.exit(2);
}

const scenarioDir = join(here, "scenarios");
const results: Measurement[] = [];
for (const file of readdirSync(scenarioDir)
  .filter((name) => name.endsWith(".ts"))
  .sort()) {
  const path = join(scenarioDir, file);
  const { scenarios } = (await import(pathToFileURL(path).href)) as { scenarios: Scenario[] };
  for (const scenario of scenarios) {
    if (values.group && !values.group.includes(scenario.group)) continue;
    process.stderr.write(`running ${scenario.group} / ${scenario.name} …\n`);
    const child = spawnSync(
      process.execPath,
      [
        "--expose-gc",
        "--import",
        "tsx",
        join(here, "run-scenario.ts"),
        path,
        scenario.name,
        String(records),
      ],
      { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 10 * 60_000 },
    );
    const last = child.stdout.trim().split("\n").at(-1) ?? "";
    if (child.status !== 0 || !last.startsWith("{")) {
      console.error(`  failed (exit ${child.status}): ${child.stderr.slice(-2000)}`);
      continue;
    }
    results.push(JSON.parse(last) as Measurement);
  }
}

const format = (value: number | undefined, digits = 2): string =>
  value === undefined || Number.isNaN(value) ? "-" : value.toFixed(digits);
for (const group of [...new Set(results.map((result) => result.group))]) {
  const rows = results.filter((result) => result.group === group);
  const floor = rows.find((row) => row.floor);
  console.log(
    `\n## ${group} (${records} records; ratios are CPU per record over the floor${floor ? `: ${floor.name}` : ""})\n`,
  );
  console.log(
    "| scenario | records/s | CPU µs/record | × floor | peak RSS MB | call p50 µs | call p99 µs | requests | bytes | delivered | lost |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|");
  for (const row of rows) {
    const cpuPerRecord = (row.cpuMs * 1000) / row.records;
    const floorCpu = floor ? (floor.cpuMs * 1000) / floor.records : undefined;
    console.log(
      `| ${row.name} | ${Math.round(row.records / (row.wallMs / 1000))} | ${format(cpuPerRecord)} | ${format(floorCpu ? cpuPerRecord / floorCpu : undefined)} | ${format(row.peakRssMb, 0)} | ${format(row.callP50Us, 3)} | ${format(row.callP99Us, 3)} | ${row.requests ?? "-"} | ${row.bytes ?? "-"} | ${row.delivered ?? "-"} | ${row.lost ?? "-"} |`,
    );
    if (row.notes) console.log(`|  ↳ ${row.notes} |||||||||||`);
  }
}
const out = join(here, "..", "results");
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "latest.json"), `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nraw figures: bench/results/latest.json`);
