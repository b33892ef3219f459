import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DATADOG_SITES } from "../src/index.js";
import { type IntakeServer, startIntakeServer, TEST_API_KEY } from "./support/intake-server.js";

// The README's example is code users copy: run it as written, with only the
// package specifier pointed at this checkout and `site` replaced by the test
// intake's `url`.

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

function example(name: string): string {
  const marker = `<!-- readme-example: ${name} `;
  const at = readme.indexOf(marker);
  expect(at, `README example "${name}"`).toBeGreaterThanOrEqual(0);
  const fence = readme.indexOf("```", at);
  const start = readme.indexOf("\n", fence) + 1;
  return readme.slice(start, readme.indexOf("\n```", start) + 1);
}

let server: IntakeServer;
let scratch: string;
beforeEach(async () => {
  server = await startIntakeServer();
  // Inside the package, so that "@a1/siem-core" resolves as it does for users.
  scratch = await mkdtemp(fileURLToPath(new URL("./.readme-", import.meta.url)));
  vi.stubEnv("DD_API_KEY", TEST_API_KEY);
  vi.stubEnv("DD_SITE", undefined);
});
afterEach(async () => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  await rm(scratch, { recursive: true, force: true });
  await server.close();
});

describe("README", () => {
  it("the minimal example delivers its record, with DD_API_KEY from the environment", async () => {
    const code = example("quick-start");
    const site = 'site: "datadoghq.com",';
    expect(code).toContain(site);
    const runnable = code
      .replace(
        '"@a1/siem-datadog"',
        JSON.stringify(fileURLToPath(new URL("../src/index.ts", import.meta.url))),
      )
      .replace(site, `url: ${JSON.stringify(server.url)},`);
    const file = join(scratch, "example.mjs");
    await writeFile(file, runnable);
    const printed: unknown[] = [];
    vi.spyOn(console, "log").mockImplementation((value: unknown) => {
      printed.push(value);
    });
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    await import(pathToFileURL(file).href);
    expect(errors).not.toHaveBeenCalled();
    expect(printed).toEqual([expect.objectContaining({ received: 1, delivered: 1, pending: 0 })]);
    expect(server.requests[0]!.headers["dd-api-key"]).toBe(TEST_API_KEY);
    expect(server.entries).toEqual([
      expect.objectContaining({
        ddtags: "env:prod",
        status: "warn",
        outcome: "DENIED",
        error_message: "capability not granted",
      }),
    ]);
  });

  it("lists every site with its intake URL", () => {
    for (const site of Object.keys(DATADOG_SITES)) {
      expect(readme).toContain(`| \`new DatadogLogExporter({ site: "${site}" })\``);
      expect(readme).toContain(`\`https://http-intake.logs.${site}/api/v2/logs\``);
    }
  });
});
