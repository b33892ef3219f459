import { spawn } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { compiledCoreUrl } from "./helpers/compiled-core.js";

// An idle exporter must never keep a process alive, but a pending flush() or
// close() must (a script ending in `await exporter.close()` must not exit
// halfway through a backoff). Only a real process can show this: each test
// runs a small ES module in a child `node` and looks at its output and exit.
// The child imports core compiled from the current src (never a stale dist/).

let coreUrl: string;

beforeAll(async () => {
  coreUrl = await compiledCoreUrl();
}, 60_000);

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  killedByUs: boolean;
}

/** Runs `body` as an ES module with `core` imported; kills it if it is still alive after `limitMs`. */
function runChild(body: string, limitMs = 20_000): Promise<ChildResult> {
  const source = `import * as core from ${JSON.stringify(coreUrl)};
const record = (n) => new core.AuditRecord({
  eventId: "evt-" + n, timestampUnix: 1733300000, outcome: "AUTHORIZED",
  principalPkHex: "aa", executorPkHex: "bb", chainDepth: 1, intentHex: "cc",
});
${body}`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", source], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let killedByUs = false;
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
    });
    const guard = setTimeout(() => {
      killedByUs = true;
      child.kill("SIGKILL");
    }, limitMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr, killedByUs });
    });
  });
}

function lastJsonLine(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!);
}

describe("process lifetime", () => {
  it("an idle exporter with a queued record does not keep the process alive", async () => {
    const result = await runChild(`
const exporter = new core.BufferedExporter({ async exportBatch() {} }, { flushIntervalMs: 600000 });
exporter.export(record(1));
console.log(JSON.stringify(exporter.stats()));
`);
    expect(result.killedByUs).toBe(false);
    expect(result.code).toBe(0);
    // The record was still queued when the process ended on its own: nothing held it open.
    expect(lastJsonLine(result.stdout)).toMatchObject({ received: 1, pending: 1 });
  });

  it("after close() the process exits by itself", async () => {
    const result = await runChild(`
let calls = 0;
const exporter = new core.BufferedExporter(
  { async exportBatch() { calls++; }, async close() {} },
  { flushIntervalMs: 600000, retry: { maxAttempts: 10, initialDelayMs: 600000, maxDelayMs: 600000 } },
);
for (let i = 0; i < 5; i++) exporter.export(record(i));
await exporter.close();
exporter.export(record(99)); // after close: dropped, and no timer started
console.log(JSON.stringify({ calls, ...exporter.stats() }));
`);
    expect(result.killedByUs).toBe(false);
    expect(result.code).toBe(0);
    expect(lastJsonLine(result.stdout)).toMatchObject({
      calls: 1,
      received: 6,
      delivered: 5,
      dropped: 1,
      pending: 0,
    });
  });

  it("a pending close() keeps the process alive through a retry backoff", async () => {
    const result = await runChild(`
let calls = 0;
const exporter = new core.BufferedExporter(
  {
    async exportBatch() {
      calls++;
      if (calls === 1) throw new core.ExportError("busy", { retryable: true, status: 503, retryAfterMs: 500 });
    },
  },
  { flushIntervalMs: 600000, retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 1 } },
);
exporter.export(record(1));
exporter.export(record(2));
await exporter.close();
console.log(JSON.stringify({ calls, ...exporter.stats() }));
`);
    expect(result.killedByUs).toBe(false);
    expect(result.stderr).not.toMatch(/unsettled top-level await/i);
    expect(result.code).toBe(0);
    expect(lastJsonLine(result.stdout)).toMatchObject({
      calls: 2,
      delivered: 2,
      retries: 1,
      pending: 0,
    });
  });

  it("a pending flush() keeps the process alive through an attempt that hangs until timeoutMs, then lets it go", async () => {
    const result = await runChild(`
let calls = 0;
const exporter = new core.BufferedExporter(
  {
    exportBatch() {
      calls++;
      // The first attempt never answers and ignores its signal (and holds no handle).
      return calls === 1 ? new Promise(() => {}) : Promise.resolve();
    },
  },
  { flushIntervalMs: 600000, timeoutMs: 300, retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 1 } },
);
exporter.export(record(1));
await exporter.flush();
console.log(JSON.stringify({ calls, ...exporter.stats() }));
// No close(): once the flush has settled the exporter is idle and must not hold the process.
`);
    expect(result.killedByUs).toBe(false);
    expect(result.code).toBe(0);
    expect(lastJsonLine(result.stdout)).toMatchObject({
      calls: 2,
      delivered: 1,
      retries: 1,
      pending: 0,
    });
  });

  it("a CompositeExporter's close() keeps the process alive until every child settled", async () => {
    const result = await runChild(`
let calls = 0;
const slow = new core.BufferedExporter(
  {
    async exportBatch() {
      calls++;
      if (calls < 3) throw new core.ExportError("busy", { retryable: true, retryAfterMs: 200 });
    },
  },
  { flushIntervalMs: 600000, retry: { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 1 } },
);
const fast = new core.BufferedExporter({ async exportBatch() {} }, { flushIntervalMs: 600000 });
const composite = new core.CompositeExporter([fast, slow]);
composite.export(record(1));
await composite.close();
console.log(JSON.stringify({ calls, ...composite.stats() }));
`);
    expect(result.killedByUs).toBe(false);
    expect(result.code).toBe(0);
    expect(lastJsonLine(result.stdout)).toMatchObject({
      calls: 3,
      received: 2,
      delivered: 2,
      pending: 0,
    });
  });
});
