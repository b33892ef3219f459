// An idle exporter never keeps the process alive; a pending close() does,
// until every record is settled (a script ending in `await close()` must not
// exit halfway through a backoff).
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, expect, test } from "vitest";
import { compileSources } from "./support/compile-sources.js";
import { OtlpTestServer } from "./support/otlp-server.js";

let server: OtlpTestServer;
let built: string;
let removeBuilt: () => void;

beforeAll(async () => {
  server = await OtlpTestServer.start();
  ({ dir: built, remove: removeBuilt } = compileSources("lifetime-build"));
});
afterAll(async () => {
  removeBuilt();
  await server.close();
});

/** Runs an ES module script with node; resolves with its exit code and output. */
function run(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = join(built, `script-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, script);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], {
      cwd: built,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const preamble = () => `
import { AuditRecord } from "@a1/siem-core";
import { OpenTelemetryExporter } from ${JSON.stringify(pathToFileURL(join(built, "index.js")).href)};
const record = (id) => new AuditRecord({ eventId: id, timestampUnix: 1733300000, outcome: "DENIED",
  principalPkHex: "ab", executorPkHex: "cd", chainDepth: 1, intentHex: "ef" });
`;

test("an idle exporter, records delivered, does not keep the process alive without close()", async () => {
  const from = server.accepted.length;
  const { code, stdout, stderr } = await run(`${preamble()}
const exporter = new OpenTelemetryExporter({ endpoint: ${JSON.stringify(server.endpoint)} });
exporter.export(record("idle-1"));
await exporter.flush();
console.log(JSON.stringify(exporter.stats()));
// No close(): the keep-alive connection and timers must not hold the process.
`);
  expect(stderr).toBe("");
  expect(code).toBe(0);
  expect(JSON.parse(stdout)).toMatchObject({ delivered: 1, pending: 0 });
  expect(server.accepted.length - from).toBe(1);
});

test("a script ending in await close() waits out the backoff and delivers", async () => {
  const from = server.accepted.length;
  server.plan({ status: 503, headers: { "retry-after": "1" } });
  const { code, stdout, stderr } = await run(`${preamble()}
const exporter = new OpenTelemetryExporter({ endpoint: ${JSON.stringify(server.endpoint)} });
exporter.export(record("late-1"));
await exporter.close();
console.log(JSON.stringify(exporter.stats()));
`);
  expect(stderr).toBe("");
  expect(code).toBe(0);
  expect(JSON.parse(stdout)).toMatchObject({ delivered: 1, retries: 1, pending: 0 });
  expect(server.accepted.length - from).toBe(1);
});
