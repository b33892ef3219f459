import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { runNode } from "@a1/siem-testing";
import { afterAll, describe, expect, it } from "vitest";
import { compileForChildren } from "./support/compile-for-children.js";

// The README's example is code users copy: run it as it is written, with
// only the package specifier pointed at this checkout's sources.

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

function example(name: string): string {
  const marker = `<!-- readme-example: ${name} `;
  const at = readme.indexOf(marker);
  expect(at, `README example "${name}"`).toBeGreaterThanOrEqual(0);
  const fence = readme.indexOf("```", at);
  const start = readme.indexOf("\n", fence) + 1;
  const end = readme.indexOf("\n```", start);
  return readme.slice(start, end + 1);
}

const exporterModule = compileForChildren();
const workDir = mkdtempSync(join(dirname(exporterModule), "readme-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe("README", () => {
  it("the minimal example runs with node, writes both lines and prints the stats it shows", async () => {
    const code = example("quick-start");
    // The example prints its stats; the README shows them in the comment after.
    const shown = code.match(/^\/\/ (\{"received".*\})$/m)?.[1];
    expect(shown).toBeDefined();
    const file = join(workDir, "example.mjs");
    // Beside the compiled sources, where "@a1/siem-core" resolves as for a user.
    writeFileSync(file, code.replaceAll('"@a1/siem-file"', JSON.stringify(exporterModule)));
    const { exitCode, stdout, stderr } = await runNode([file], { cwd: workDir });
    expect(stderr).toBe("");
    expect(exitCode).toBe(0);
    expect(stdout.trim()).toBe(shown);
    const lines = readFileSync(join(workDir, "audit.ndjson"), "utf8").trim().split("\n");
    const parsed = lines.map((line) => JSON.parse(line));
    expect(parsed.map((line) => line.outcome)).toEqual(["DENIED", "AUTHORIZED"]);
    expect(parsed[0].timestamp_iso).toBe("2024-12-04T08:13:20Z");
    expect(parsed[1].trace_id).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
  });

  it("the line-format example is what the exporter writes for that record, up to the elided hex", () => {
    const at = readme.indexOf("```json");
    const line = readme.slice(readme.indexOf("\n", at) + 1, readme.indexOf("\n```", at));
    const keys = [...line.matchAll(/"([a-z_]+)":/g)].map((match) => match[1]);
    expect(keys).toEqual([
      "event_id",
      "timestamp_unix",
      "timestamp_iso",
      "outcome",
      "principal_pk_hex",
      "executor_pk_hex",
      "chain_depth",
      "intent_hex",
      "error_message",
    ]);
  });
});
