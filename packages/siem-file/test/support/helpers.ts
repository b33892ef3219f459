import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuditRecord, type AuditRecordFields, type ExportError } from "@a1/siem-core";
import { expectBalanced } from "@a1/siem-testing";
import { afterAll, expect } from "vitest";
import type { NdjsonFileExporter } from "../../src/index.js";

let counter = 0;

/** A valid record with a fresh event id; `seq` and more go into `extra`. */
export function makeRecord(overrides: Partial<AuditRecordFields> = {}): AuditRecord {
  counter++;
  return new AuditRecord({
    eventId: `evt-${counter}`,
    timestampUnix: 1_733_300_000 + counter,
    outcome: "AUTHORIZED",
    principalPkHex: "a1".repeat(32),
    executorPkHex: "b2".repeat(32),
    chainDepth: 1,
    intentHex: "c3".repeat(32),
    ...overrides,
  });
}

/** `n` records whose `extra.seq` is 0 … n-1. */
export function makeRecords(n: number, extra: Record<string, string> = {}): AuditRecord[] {
  return Array.from({ length: n }, (_, seq) => makeRecord({ extra: { seq, ...extra } }));
}

/** A fresh temporary directory, removed after the test file. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "a1-siem-file-test-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Reads an NDJSON file the way a strict log shipper would: valid UTF-8, every
 * line ends with a newline and parses as a JSON object. Returns the objects.
 */
export function readLines(path: string): Record<string, unknown>[] {
  const text = new TextDecoder("utf-8", { fatal: true }).decode(readFileSync(path));
  if (text === "") return [];
  expect(text.endsWith("\n"), `${path} ends with a newline`).toBe(true);
  return text
    .slice(0, -1)
    .split("\n")
    .map((line, index) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(
          `line ${index + 1} of ${path} is not JSON: ${JSON.stringify(line.slice(0, 200))}`,
        );
      }
    });
}

/** The `extra.seq` of each line. */
export function seqs(path: string): number[] {
  return readLines(path).map((line) => line.seq as number);
}

/** Asserts the accounting invariant and returns the stats. */
export function checkInvariant(exporter: NdjsonFileExporter) {
  const stats = exporter.stats();
  expectBalanced(stats);
  return stats;
}

/** Collects what reaches `onError`. */
export function errorSink(): { errors: ExportError[]; onError: (error: ExportError) => void } {
  const errors: ExportError[] = [];
  return { errors, onError: (error) => errors.push(error) };
}

/** Waits until `condition()` holds (polling), or fails after `ms`. */
export async function until(condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
