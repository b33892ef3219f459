// Runs one scenario in this process and prints its Measurement as JSON on the last line.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Measurement, makeRecords, percentile, type Scenario } from "./harness.js";

const [file, name, countText] = process.argv.slice(2);
if (!file || !name)
  throw new Error("usage: run-scenario.ts <scenario file> <scenario name> [records]");
const count = Number(countText ?? 100_000);
const module = (await import(pathToFileURL(file).href)) as { scenarios: Scenario[] };
const scenario = module.scenarios.find((candidate) => candidate.name === name);
if (!scenario) throw new Error(`no scenario named ${name} in ${file}`);

const records = makeRecords(count);
const samples = new Float64Array(count * 2);
let sampleCount = 0;
const tmpDir = mkdtempSync(join(tmpdir(), "a1-siem-bench-"));
const timeCall = (call: () => void): void => {
  const start = process.hrtime.bigint();
  call();
  const elapsed = Number(process.hrtime.bigint() - start);
  if (sampleCount < samples.length) samples[sampleCount++] = elapsed;
};

globalThis.gc?.();
const cpuBefore = process.cpuUsage();
const wallBefore = performance.now();
const outcome = await scenario.run({ records, tmpDir, timeCall });
const wallMs = performance.now() - wallBefore;
const cpu = process.cpuUsage(cpuBefore);
rmSync(tmpDir, { recursive: true, force: true });

const timed = samples.subarray(0, sampleCount).sort();
const measurement: Measurement = {
  group: scenario.group,
  name: scenario.name,
  floor: scenario.floor ?? false,
  records: count,
  wallMs,
  cpuMs: (cpu.user + cpu.system) / 1000,
  peakRssMb: process.resourceUsage().maxRSS / 1024,
  ...(sampleCount > 0
    ? { callP50Us: percentile(timed, 50) / 1000, callP99Us: percentile(timed, 99) / 1000 }
    : {}),
  ...outcome,
};
process.stdout.write(`\n${JSON.stringify(measurement)}\n`);
process.exit(0);
