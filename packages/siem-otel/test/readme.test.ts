// The README's example is code users copy: run it as it is written, with only
// the package specifier pointed at this checkout's sources, against a real
// OTLP/HTTP receiver named by OTEL_EXPORTER_OTLP_ENDPOINT.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { runNode } from "@a1/siem-testing";
import { afterAll, beforeAll, expect, test } from "vitest";
import { compileSources, packageRoot } from "./support/compile-sources.js";
import { plain } from "./support/otlp-decode.js";
import { OtlpTestServer } from "./support/otlp-server.js";

const readme = readFileSync(join(packageRoot, "README.md"), "utf8");

function example(name: string): string {
  const marker = `<!-- readme-example: ${name} `;
  const at = readme.indexOf(marker);
  expect(at, `README example "${name}"`).toBeGreaterThanOrEqual(0);
  const fence = readme.indexOf("```", at);
  const start = readme.indexOf("\n", fence) + 1;
  const end = readme.indexOf("\n```", start);
  return readme.slice(start, end + 1);
}

let server: OtlpTestServer;
let built: string;
let removeBuilt: () => void;
beforeAll(async () => {
  server = await OtlpTestServer.start();
  ({ dir: built, remove: removeBuilt } = compileSources("readme-build"));
});
afterAll(async () => {
  removeBuilt();
  await server.close();
});

test("the minimal example runs with node, sends both records and prints the stats it shows", async () => {
  const code = example("quick-start");
  const shown = code.match(/^\/\/ (\{"received".*\})$/m)?.[1];
  expect(shown).toBeDefined();
  const file = join(built, "example.mjs");
  writeFileSync(
    file,
    code.replaceAll('"@a1/siem-otel"', JSON.stringify(pathToFileURL(join(built, "index.js")).href)),
  );
  const { exitCode, stdout, stderr } = await runNode([file], {
    cwd: built,
    env: { PATH: process.env.PATH, OTEL_EXPORTER_OTLP_ENDPOINT: server.endpoint },
  });
  expect(stderr).toBe("");
  expect(exitCode).toBe(0);
  expect(stdout.trim()).toBe(shown);

  const logs = server.accepted;
  expect(logs.map((log) => [log.severityText, log.severityNumber, log.timeUnixNano])).toEqual([
    ["DENIED", 13, "1733300000000000000"],
    ["AUTHORIZED", 9, "1733300001000000000"],
  ]);
  expect([logs[0]!.traceId, logs[0]!.spanId]).toEqual([
    "4bf92f3577b34da6a3ce929d0e0e4736",
    "00f067aa0ba902b7",
  ]);
  expect(plain(logs[0]!.resource["service.name"])).toBe("authz-gateway");
  expect(logs[0]!.eventName).toBe("a1.authorization");
  expect(server.requests[0]!.path).toBe("/v1/logs");
});
