import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  AuditRecord,
  type AuditRecordFields,
  CORE_WIRE_KEYS,
  type JsonObject,
  MAX_TIMESTAMP_UNIX,
} from "@a1/siem-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NdjsonFileExporter } from "../src/index.js";
import { tempDir } from "./support/helpers.js";

const dir = tempDir();
let n = 0;

// Strings that stress a line format: line and paragraph separators (raw in
// JSON, but line breaks to some readers), newlines, quotes, NUL, astral
// characters and lone surrogates, mixed with arbitrary code points.
const tricky = fc.constantFrom(
  "\u2028",
  "\u2029",
  "\n",
  "\r",
  '"',
  "\\",
  "\u0000",
  "😀",
  "\ud800",
  "é",
);
const text = fc.string({
  unit: fc.oneof(tricky, fc.string({ unit: "binary", minLength: 1, maxLength: 1 })),
  maxLength: 40,
});
const optional = fc.option(text, { nil: undefined });
const extraKey = text.filter((key) => !CORE_WIRE_KEYS.has(key));
// Through JSON once, so that a -0 (which JSON writes as 0) cannot make the comparison lie.
const extra = fc
  .dictionary(extraKey, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 })
  .map((value) => JSON.parse(JSON.stringify(value)) as JsonObject);

const record = fc
  .record({
    eventId: text,
    timestampUnix: fc.integer({ min: 0, max: MAX_TIMESTAMP_UNIX }),
    outcome: fc.oneof(fc.constantFrom("AUTHORIZED", "DENIED", "POLICY_VIOLATION"), text),
    principalPkHex: text,
    executorPkHex: text,
    chainDepth: fc.nat(),
    intentHex: text,
    passportNamespace: optional,
    chainFingerprint: optional,
    errorMessage: optional,
    policyName: optional,
    capabilityMaskHex: optional,
    requestId: optional,
    userAgent: optional,
    sourceIp: optional,
    extra: fc.option(extra, { nil: undefined }),
  })
  .map((fields) => new AuditRecord(fields as AuditRecordFields));

/** Lines of a file, each checked to be valid UTF-8 and newline-terminated. */
function linesOf(path: string): string[] {
  const content = new TextDecoder("utf-8", { fatal: true }).decode(readFileSync(path));
  if (content === "") return [];
  expect(content.endsWith("\n")).toBe(true);
  return content.slice(0, -1).split("\n");
}

function expectLinesAreRecords(lines: string[], records: AuditRecord[]) {
  expect(lines).toHaveLength(records.length);
  lines.forEach((line, index) => {
    const expected = records[index]!.toDict();
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(parsed).toEqual(expected);
    expect(Object.keys(parsed)).toEqual(Object.keys(expected)); // key order too
    expect(line).toBe(records[index]!.toNdjson());
  });
}

describe("every line read back parses to the record's toDict()", () => {
  it("for arbitrary records and flushEvery", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1, max: 8 }),
        async (records, flushEvery) => {
          const path = join(dir, `prop-${++n}.ndjson`);
          const exporter = new NdjsonFileExporter(path, { flushEvery });
          for (const each of records) exporter.export(each);
          await exporter.close();
          expectLinesAreRecords(linesOf(path), records);
          expect(exporter.stats()).toMatchObject({ delivered: records.length, pending: 0 });
        },
      ),
      { numRuns: 150 },
    );
  });

  it("for arbitrary records rotated by any maxBytes: the files, oldest first, hold them all in order", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1, max: 4000 }),
        fc.integer({ min: 1, max: 5 }),
        async (records, maxBytes, flushEvery) => {
          const name = `rot-${++n}.ndjson`;
          const path = join(dir, name);
          const exporter = new NdjsonFileExporter(path, { maxBytes, maxFiles: 100, flushEvery });
          for (const each of records) exporter.export(each);
          await exporter.close();
          const rotated = readdirSync(dir)
            .filter((entry) => entry.startsWith(`${name}.`))
            .map((entry) => Number(entry.slice(name.length + 1)))
            .sort((a, b) => b - a);
          const files = [...rotated.map((index) => `${path}.${index}`), path];
          expectLinesAreRecords(
            files.flatMap((file) => linesOf(file)),
            records,
          );
          for (const file of files) {
            const lines = linesOf(file);
            if (lines.length > 1) expect(readFileSync(file).length).toBeLessThanOrEqual(maxBytes);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
