import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AuditRecordError, ExportError } from "@a1/siem-core";
import { describe, expect, it } from "vitest";
import { NdjsonFileExporter } from "../src/index.js";
import {
  checkInvariant,
  errorSink,
  makeRecord,
  makeRecords,
  readLines,
  seqs,
  tempDir,
  until,
} from "./support/helpers.js";

const dir = tempDir();
let n = 0;
const file = () => join(dir, `audit-${++n}.ndjson`);

describe("NdjsonFileExporter writing", () => {
  it("writes each record's NDJSON line before export() returns with flushEvery 1", async () => {
    const path = file();
    const exporter = new NdjsonFileExporter(path);
    const records = makeRecords(3);
    for (const [index, record] of records.entries()) {
      exporter.export(record);
      // Read with a fresh descriptor: the line is in the file, not in our memory.
      expect(readFileSync(path, "utf8")).toBe(
        records
          .slice(0, index + 1)
          .map((r) => `${r.toNdjson()}\n`)
          .join(""),
      );
      expect(checkInvariant(exporter)).toMatchObject({ delivered: index + 1, pending: 0 });
    }
    await exporter.close();
    expect(readLines(path)).toEqual(records.map((r) => r.toDict()));
  });

  it("appends to an existing file", async () => {
    const path = file();
    writeFileSync(path, '{"earlier":true}\n');
    const exporter = new NdjsonFileExporter(path);
    const record = makeRecord();
    exporter.export(record);
    await exporter.close();
    expect(readFileSync(path, "utf8")).toBe(`{"earlier":true}\n${record.toNdjson()}\n`);
  });

  it("with flushEvery N, writes every N records and the rest at flush()", async () => {
    const path = file();
    const exporter = new NdjsonFileExporter(path, { flushEvery: 4, flushIntervalMs: 60_000 });
    const records = makeRecords(10);
    for (const record of records.slice(0, 3)) exporter.export(record);
    expect(readFileSync(path, "utf8")).toBe("");
    expect(checkInvariant(exporter)).toMatchObject({ pending: 3, delivered: 0 });
    exporter.export(records[3]!);
    expect(seqs(path)).toEqual([0, 1, 2, 3]);
    for (const record of records.slice(4)) exporter.export(record);
    expect(seqs(path)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(checkInvariant(exporter)).toMatchObject({ pending: 2, delivered: 8 });
    await exporter.flush();
    expect(seqs(path)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(checkInvariant(exporter)).toMatchObject({ pending: 0, delivered: 10 });
    await exporter.close();
  });

  it("with flushEvery N, a quiet exporter writes its lines after flushIntervalMs", async () => {
    const path = file();
    const exporter = new NdjsonFileExporter(path, { flushEvery: 100, flushIntervalMs: 20 });
    exporter.export(makeRecord({ extra: { seq: 0 } }));
    expect(readFileSync(path, "utf8")).toBe("");
    await until(() => readFileSync(path, "utf8") !== "");
    expect(seqs(path)).toEqual([0]);
    expect(checkInvariant(exporter)).toMatchObject({ pending: 0, delivered: 1 });
    await exporter.close();
  });

  it("close() writes what is buffered, then drops later records as closed", async () => {
    const path = file();
    const { errors, onError } = errorSink();
    const exporter = new NdjsonFileExporter(path, { flushEvery: 50, onError });
    const records = makeRecords(5);
    for (const record of records) exporter.export(record);
    await exporter.close();
    expect(seqs(path)).toEqual([0, 1, 2, 3, 4]);
    const late = makeRecord();
    exporter.export(late);
    expect(checkInvariant(exporter)).toMatchObject({
      received: 6,
      delivered: 5,
      dropped: 1,
      pending: 0,
    });
    await exporter.flush(); // settles the drop too: reported by the time it resolves
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ExportError);
    expect(errors[0]!.reason).toBe("closed");
    expect(errors[0]!.records).toEqual([late]);
    expect(seqs(path)).toEqual([0, 1, 2, 3, 4]);
  });

  it("close() is idempotent and flush() after close() resolves", async () => {
    const path = file();
    const exporter = new NdjsonFileExporter(path);
    exporter.export(makeRecord());
    await Promise.all([exporter.close(), exporter.close()]);
    await exporter.close();
    await exporter.flush();
    expect(checkInvariant(exporter)).toMatchObject({ delivered: 1, pending: 0 });
    expect(readLines(path)).toHaveLength(1);
  });

  it("exportDict() parses the wire form; malformed input throws AuditRecordError and writes nothing", async () => {
    const path = file();
    const exporter = new NdjsonFileExporter(path);
    const record = makeRecord({ errorMessage: "no", extra: { trace_id: "t" } });
    exporter.exportDict(record.toDict());
    expect(() => exporter.exportDict({ ...record.toDict(), chain_depth: "two" })).toThrow(
      AuditRecordError,
    );
    await exporter.close();
    expect(readFileSync(path, "utf8")).toBe(`${record.toNdjson()}\n`);
    expect(checkInvariant(exporter)).toMatchObject({ received: 1, delivered: 1 });
  });

  it("export() of something other than an AuditRecord is a TypeError, not a delivery problem", async () => {
    const exporter = new NdjsonFileExporter(file());
    expect(() => exporter.export({} as never)).toThrow(TypeError);
    expect(checkInvariant(exporter)).toMatchObject({ received: 0 });
    await exporter.close();
  });

  it("writes a line containing U+2028, U+2029 and astral characters as one line of valid UTF-8", async () => {
    const path = file();
    const exporter = new NdjsonFileExporter(path);
    const record = makeRecord({
      errorMessage: "a\u2028b\u2029c\n😀\r\u0000",
      extra: { "k\n": "🚀" },
    });
    exporter.export(record);
    await exporter.close();
    const text = readFileSync(path, "utf8");
    expect(text.split("\n")).toHaveLength(2);
    expect(readLines(path)).toEqual([record.toDict()]);
  });

  it("rejects invalid options with the option's name", () => {
    const path = file();
    expect(() => new NdjsonFileExporter(path, { flushEvery: 0 })).toThrow(/flushEvery/);
    expect(() => new NdjsonFileExporter(path, { flushEvery: 1.5 })).toThrow(/flushEvery/);
    expect(() => new NdjsonFileExporter(path, { flushIntervalMs: 0 })).toThrow(/flushIntervalMs/);
    expect(() => new NdjsonFileExporter(path, { maxBytes: 0 })).toThrow(/maxBytes/);
    expect(() => new NdjsonFileExporter(path, { maxFiles: 3 })).toThrow(/maxFiles needs maxBytes/);
    expect(() => new NdjsonFileExporter(path, { maxBytes: 10, maxFiles: 0 })).toThrow(/maxFiles/);
    expect(() => new NdjsonFileExporter(path, { mode: 0o10000 })).toThrow(/mode/);
    expect(() => new NdjsonFileExporter(path, { flushEvery: 10, maxQueueSize: 5 })).toThrow(
      /flushEvery/,
    );
    expect(() => new NdjsonFileExporter(path, { fsync: "yes" as never })).toThrow(/fsync/);
    expect(() => new NdjsonFileExporter(path, { onError: 1 as never })).toThrow(/onError/);
    expect(() => new NdjsonFileExporter("")).toThrow(/path/);
  });

  it("fsync: true writes and syncs at flush() (the lines are in the file afterwards)", async () => {
    const path = file();
    const exporter = new NdjsonFileExporter(path, { fsync: true, flushEvery: 10 });
    for (const record of makeRecords(3)) exporter.export(record);
    await exporter.flush();
    expect(seqs(path)).toEqual([0, 1, 2]);
    await exporter.close();
  });

  it("an onError that throws never reaches the caller", async () => {
    const path = file();
    const exporter = new NdjsonFileExporter(path, {
      onError: () => {
        throw new Error("handler bug");
      },
    });
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on("warning", onWarning);
    try {
      await exporter.close();
      expect(() => exporter.export(makeRecord())).not.toThrow();
      await until(() => warnings.some((message) => message.includes("onError threw")));
    } finally {
      process.off("warning", onWarning);
    }
    expect(checkInvariant(exporter)).toMatchObject({ dropped: 1 });
  });

  it("without onError, drops become a process warning", async () => {
    const exporter = new NdjsonFileExporter(file());
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on("warning", onWarning);
    try {
      await exporter.close();
      exporter.export(makeRecord());
      await until(() => warnings.some((message) => /1 record\(s\) closed/.test(message)));
    } finally {
      process.off("warning", onWarning);
    }
  });
});
