import {
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { NdjsonFileExporter } from "../src/index.js";
import {
  checkInvariant,
  makeRecord,
  makeRecords,
  seqs,
  tempDir,
  until,
} from "./support/helpers.js";

const dir = tempDir();
let n = 0;
const file = () => join(dir, `rotate-${++n}.ndjson`);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** The files of a rotation set, oldest first: path.k … path.1, path. */
function rotationSet(path: string): string[] {
  const name = path.slice(dir.length + 1);
  const numbers = readdirSync(dir)
    .filter((entry) => entry.startsWith(`${name}.`))
    .map((entry) => Number(entry.slice(name.length + 1)))
    .filter(Number.isInteger)
    .sort((a, b) => b - a);
  return [...numbers.map((number) => `${path}.${number}`), path];
}

describe("reopen() for logrotate's move-and-signal", () => {
  it("lines before reopen() land in the moved file, lines after in a new file at path", async () => {
    const path = file();
    const exporter = new NdjsonFileExporter(path, { flushIntervalMs: 60_000 });
    const records = makeRecords(5);
    exporter.export(records[0]!);
    exporter.export(records[1]!);
    renameSync(path, `${path}.1`); // logrotate moves the file …
    exporter.export(records[2]!); // … the exporter still writes to it until signalled …
    exporter.reopen(); // … postrotate sends the signal
    exporter.export(records[3]!);
    exporter.export(records[4]!);
    await exporter.close();
    expect(seqs(`${path}.1`)).toEqual([0, 1, 2]);
    expect(seqs(path)).toEqual([3, 4]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(checkInvariant(exporter)).toMatchObject({ delivered: 5, pending: 0, reopens: 1 });
  });

  it("buffered lines (flushEvery N) are written to the moved file before reopening", async () => {
    const path = file();
    const exporter = new NdjsonFileExporter(path, { flushEvery: 100, flushIntervalMs: 60_000 });
    const records = makeRecords(4);
    exporter.export(records[0]!);
    exporter.export(records[1]!);
    renameSync(path, `${path}.1`);
    exporter.reopen();
    exporter.export(records[2]!);
    exporter.export(records[3]!);
    await exporter.close();
    expect(seqs(`${path}.1`)).toEqual([0, 1]);
    expect(seqs(path)).toEqual([2, 3]);
  });

  it("notices by itself, within flushIntervalMs, that the file was moved, and opens a new one", async () => {
    const path = file();
    const exporter = new NdjsonFileExporter(path, { flushIntervalMs: 10 });
    exporter.export(makeRecord({ extra: { seq: 0 } }));
    renameSync(path, `${path}.1`);
    await until(() => existsSync(path));
    exporter.export(makeRecord({ extra: { seq: 1 } }));
    await exporter.close();
    expect(seqs(`${path}.1`)).toEqual([0]);
    expect(seqs(path)).toEqual([1]);
    expect(exporter.stats().reopens).toBe(1);
  });

  it("notices that the file was deleted, warns, and opens a new one", async () => {
    const path = file();
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on("warning", onWarning);
    try {
      const exporter = new NdjsonFileExporter(path, { flushIntervalMs: 10 });
      exporter.export(makeRecord({ extra: { seq: 0 } }));
      unlinkSync(path);
      await until(() => existsSync(path));
      exporter.export(makeRecord({ extra: { seq: 1 } }));
      await exporter.close();
      expect(seqs(path)).toEqual([1]);
      await until(() => warnings.some((message) => message.includes("was deleted while open")));
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("reopen() after close() does nothing", async () => {
    const path = file();
    const exporter = new NdjsonFileExporter(path);
    await exporter.close();
    unlinkSync(path);
    exporter.reopen();
    expect(existsSync(path)).toBe(false);
  });
});

describe("rotation by size (maxBytes, maxFiles)", () => {
  const lineBytes = (line: Record<string, unknown>) => Buffer.byteLength(JSON.stringify(line)) + 1;

  /** Every file within maxBytes (unless it holds one line) and no rotation earlier than needed. */
  function expectTightFiles(files: string[], maxBytes: number) {
    files.forEach((path, index) => {
      const size = statSync(path).size;
      const lines = readFileSync(path, "utf8").split("\n").length - 1;
      if (lines > 1) expect(size).toBeLessThanOrEqual(maxBytes);
      const next = files[index + 1];
      if (next !== undefined) {
        const firstOfNext = JSON.parse(readFileSync(next, "utf8").split("\n")[0]!);
        expect(size + lineBytes(firstOfNext)).toBeGreaterThan(maxBytes);
      }
    });
  }

  for (const flushEvery of [1, 7]) {
    it(`keeps every line exactly once, in order, never split across files (flushEvery ${flushEvery})`, async () => {
      const path = file();
      const maxBytes = 1500;
      const exporter = new NdjsonFileExporter(path, { maxBytes, maxFiles: 1000, flushEvery });
      for (const record of makeRecords(100, { note: "ünïcödé" })) exporter.export(record);
      await exporter.close();
      const files = rotationSet(path);
      expect(files.length).toBeGreaterThan(5);
      expect(files.flatMap((each) => seqs(each))).toEqual(range(0, 100));
      expectTightFiles(files, maxBytes);
      expect(checkInvariant(exporter)).toMatchObject({
        delivered: 100,
        pending: 0,
        rotations: files.length - 1,
      });
    });
  }

  it("keeps maxFiles rotated files and deletes the oldest", async () => {
    const path = file();
    const exporter = new NdjsonFileExporter(path, { maxBytes: 1000, maxFiles: 2 });
    for (const record of makeRecords(60)) exporter.export(record);
    await exporter.close();
    const files = rotationSet(path);
    expect(files).toEqual([`${path}.2`, `${path}.1`, path]);
    const kept = files.flatMap((each) => seqs(each));
    // The newest lines, contiguous, ending with the last record.
    expect(kept).toEqual(range(60 - kept.length, 60));
    expect(exporter.stats().rotations).toBeGreaterThan(2);
    expectTightFiles(files, 1000);
  });

  it("gives a line larger than maxBytes a file of its own", async () => {
    const path = file();
    const exporter = new NdjsonFileExporter(path, { maxBytes: 600, maxFiles: 10 });
    exporter.export(makeRecord({ extra: { seq: 0 } }));
    exporter.export(makeRecord({ extra: { seq: 1, big: "x".repeat(2000) } }));
    exporter.export(makeRecord({ extra: { seq: 2 } }));
    await exporter.close();
    const files = rotationSet(path);
    expect(files.map((each) => seqs(each))).toEqual([[0], [1], [2]]);
  });

  it("rotates an existing file that is already over maxBytes before writing to it", async () => {
    const path = file();
    writeFileSync(path, `${JSON.stringify({ old: "x".repeat(2000) })}\n`);
    const exporter = new NdjsonFileExporter(path, { maxBytes: 1000, maxFiles: 3 });
    exporter.export(makeRecord({ extra: { seq: 0 } }));
    await exporter.close();
    expect(JSON.parse(readFileSync(`${path}.1`, "utf8")).old).toHaveLength(2000);
    expect(seqs(path)).toEqual([0]);
  });

  it("does not rotate a file that is not over maxBytes", async () => {
    const path = file();
    const exporter = new NdjsonFileExporter(path, { maxBytes: 1_000_000 });
    for (const record of makeRecords(10)) exporter.export(record);
    await exporter.close();
    expect(rotationSet(path)).toEqual([path]);
    expect(exporter.stats().rotations).toBe(0);
  });
});
