import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { NdjsonFileExporter } from "../src/index.js";
import {
  checkInvariant,
  errorSink,
  makeRecord,
  makeRecords,
  seqs,
  tempDir,
  until,
} from "./support/helpers.js";

const dir = tempDir();
const range = (count: number) => Array.from({ length: count }, (_, i) => i);

/** Captures process warnings while `body` runs. */
async function withWarnings(body: (warnings: string[]) => Promise<void>): Promise<void> {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.message);
  process.on("warning", onWarning);
  try {
    await body(warnings);
  } finally {
    process.off("warning", onWarning);
  }
}

describe("a full disk (/dev/full answers every write with ENOSPC)", () => {
  it("never throws into export(), holds the records, and reports them failed at flush()", async () => {
    await withWarnings(async (warnings) => {
      const { errors, onError } = errorSink();
      const exporter = new NdjsonFileExporter("/dev/full", { onError, flushIntervalMs: 60_000 });
      const records = makeRecords(3);
      for (const record of records) {
        expect(() => exporter.export(record)).not.toThrow();
        checkInvariant(exporter);
      }
      expect(checkInvariant(exporter)).toMatchObject({ pending: 3, delivered: 0, failed: 0 });
      expect(exporter.stats().writeErrors).toBeGreaterThanOrEqual(1);
      expect(errors).toEqual([]); // not failed yet: they are tried again
      await until(() =>
        warnings.some((message) => /cannot write \/dev\/full.*ENOSPC/.test(message)),
      );

      await exporter.flush();
      expect(checkInvariant(exporter)).toMatchObject({ pending: 0, failed: 3, received: 3 });
      expect(exporter.stats().retries).toBeGreaterThanOrEqual(1);
      expect(errors).toHaveLength(1);
      const [error] = errors;
      expect(error!.reason).toBe("retries-exhausted");
      expect(error!.retryable).toBe(true);
      expect(error!.records).toEqual(records);
      expect((error!.cause as NodeJS.ErrnoException).code).toBe("ENOSPC");
      expect(error!.message).toContain("/dev/full");

      exporter.export(makeRecord());
      await exporter.close();
      expect(checkInvariant(exporter)).toMatchObject({ pending: 0, failed: 4 });
      expect(errors).toHaveLength(2);
      expect(errors[1]!.records).toHaveLength(1);
    });
  });

  it("a record exported from onError while close() settles is dropped as closed, not left pending", async () => {
    const reasons: string[] = [];
    const exporter: NdjsonFileExporter = new NdjsonFileExporter("/dev/full", {
      onError: (error) => {
        reasons.push(error.reason);
        if (error.reason === "retries-exhausted") exporter.export(makeRecord());
      },
    });
    exporter.export(makeRecord());
    await exporter.close();
    expect(checkInvariant(exporter)).toMatchObject({
      received: 2,
      failed: 1,
      dropped: 1,
      pending: 0,
    });
    await exporter.flush();
    expect(reasons).toEqual(["retries-exhausted", "closed"]);
  });

  it("drops records beyond maxQueueSize as overflow, reported in the next microtask", async () => {
    const { errors, onError } = errorSink();
    const exporter = new NdjsonFileExporter("/dev/full", {
      onError,
      maxQueueSize: 3,
      flushIntervalMs: 60_000,
    });
    const records = makeRecords(5);
    for (const record of records) exporter.export(record);
    expect(checkInvariant(exporter)).toMatchObject({ pending: 3, dropped: 2 });
    await Promise.resolve();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.reason).toBe("overflow");
    expect(errors[0]!.records).toEqual(records.slice(3));
    await exporter.close();
    expect(checkInvariant(exporter)).toMatchObject({ pending: 0, failed: 3, dropped: 2 });
    expect(errors.map((error) => error.reason)).toEqual(["overflow", "retries-exhausted"]);
  });

  it("with flushEvery N and fsync, still never throws and accounts for every record", async () => {
    const { errors, onError } = errorSink();
    const exporter = new NdjsonFileExporter("/dev/full", { onError, flushEvery: 4, fsync: true });
    for (const record of makeRecords(10)) exporter.export(record);
    checkInvariant(exporter);
    await exporter.close();
    expect(checkInvariant(exporter)).toMatchObject({ failed: 10, pending: 0 });
    expect(errors.flatMap((error) => error.records)).toHaveLength(10);
  });
});

describe("a directory that is missing or vanishes", () => {
  it("a missing directory does not throw: records wait and are written once it exists", async () => {
    const sub = join(dir, "later");
    const path = join(sub, "audit.ndjson");
    const { errors, onError } = errorSink();
    await withWarnings(async (warnings) => {
      const exporter = new NdjsonFileExporter(path, { onError, flushIntervalMs: 10 });
      for (const record of makeRecords(3)) exporter.export(record);
      expect(checkInvariant(exporter)).toMatchObject({ pending: 3 });
      mkdirSync(sub);
      await until(() => exporter.stats().pending === 0);
      expect(seqs(path)).toEqual([0, 1, 2]);
      expect(checkInvariant(exporter)).toMatchObject({ delivered: 3 });
      expect(exporter.stats().retries).toBeGreaterThanOrEqual(1);
      await exporter.close();
      expect(errors).toEqual([]);
      await until(() => warnings.some((message) => /cannot write .*ENOENT/.test(message)));
    });
  });

  it("a directory removed while the file is open: noticed, reported at flush(), recovered when it is back", async () => {
    const sub = join(dir, "vanishing");
    mkdirSync(sub);
    const path = join(sub, "audit.ndjson");
    const { errors, onError } = errorSink();
    const exporter = new NdjsonFileExporter(path, { onError, flushIntervalMs: 60_000 });
    const records = makeRecords(3);
    exporter.export(records[0]!);
    expect(seqs(path)).toEqual([0]);
    rmSync(sub, { recursive: true });
    await exporter.flush(); // sees the file gone, cannot create it again
    exporter.export(records[1]!);
    expect(checkInvariant(exporter)).toMatchObject({ delivered: 1, pending: 1 });
    await exporter.flush();
    expect(checkInvariant(exporter)).toMatchObject({ delivered: 1, failed: 1, pending: 0 });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.records).toEqual([records[1]]);
    expect((errors[0]!.cause as NodeJS.ErrnoException).code).toBe("ENOENT");

    mkdirSync(sub);
    exporter.export(records[2]!);
    await exporter.flush();
    expect(seqs(path)).toEqual([2]);
    await exporter.close();
    expect(checkInvariant(exporter)).toMatchObject({ delivered: 2, failed: 1, pending: 0 });
  });

  it("a path that is a directory is a write error like any other, not a throw", async () => {
    const { errors, onError } = errorSink();
    const exporter = new NdjsonFileExporter(dir, { onError });
    exporter.export(makeRecord());
    await exporter.close();
    expect(errors).toHaveLength(1);
    expect((errors[0]!.cause as NodeJS.ErrnoException).code).toBe("EISDIR");
  });
});

// A small tmpfs is a disk that really fills up, and frees space again: the
// kernel then writes part of a batch (a short write, cut mid-line). Needs
// mount(2) rights (root in a container or VM); skipped elsewhere.
const tmpfs = join(dir, "tmpfs");
mkdirSync(tmpfs);
const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", tmpfs]).status === 0;
afterAll(() => {
  if (mounted) spawnSync("umount", [tmpfs]);
});

describe.skipIf(!mounted)("a disk that fills up and frees space again (tmpfs)", () => {
  const filler = join(tmpfs, "filler");
  /** Fills the file system but for about `free` bytes. */
  function fillAllBut(free: number) {
    rmSync(filler, { force: true });
    const stats = spawnSync("df", ["-B1", "--output=avail", tmpfs], { encoding: "utf8" });
    const available = Number(stats.stdout.trim().split("\n")[1]);
    writeFileSync(filler, Buffer.alloc(Math.max(0, available - free)));
  }

  for (const flushEvery of [1, 8]) {
    it(`a write cut short by the full disk is completed in place once space is back (flushEvery ${flushEvery})`, async () => {
      const path = join(tmpfs, `short-${flushEvery}.ndjson`);
      rmSync(path, { force: true });
      fillAllBut(20_000);
      const { errors, onError } = errorSink();
      const exporter = new NdjsonFileExporter(path, { onError, flushEvery, flushIntervalMs: 10 });
      let seq = 0;
      // Lines of 1-3 KB, so that the disk fills up in the middle of one.
      while (exporter.stats().writeErrors === 0 && seq < 1000) {
        exporter.export(
          makeRecord({ extra: { seq: seq++, pad: "ß".repeat(500 + (seq % 7) * 150) } }),
        );
        checkInvariant(exporter);
      }
      expect(exporter.stats().writeErrors).toBeGreaterThan(0);
      // The disk filled up in the middle of a line: the first part is in the
      // file, the rest pending (a line ending exactly where the space ran out
      // would skip what this test is about).
      expect(readFileSync(path).at(-1)).not.toBe(0x0a);
      for (let more = 0; more < 5; more++) exporter.export(makeRecord({ extra: { seq: seq++ } }));
      expect(exporter.stats().pending).toBeGreaterThan(0);
      rmSync(filler);
      await until(() => exporter.stats().pending === 0);
      await exporter.close();
      expect(seqs(path)).toEqual(range(seq));
      expect(checkInvariant(exporter)).toMatchObject({ delivered: seq, failed: 0 });
      expect(errors).toEqual([]);
      rmSync(path);
    });
  }

  it("a line given up on at flush() is ended there, so the lines after it parse", async () => {
    const path = join(tmpfs, "given-up.ndjson");
    rmSync(path, { force: true });
    fillAllBut(20_000);
    const { errors, onError } = errorSink();
    const exporter = new NdjsonFileExporter(path, { onError, flushIntervalMs: 60_000 });
    let seq = 0;
    while (exporter.stats().writeErrors === 0 && seq < 1000) {
      exporter.export(makeRecord({ extra: { seq: seq++, pad: "ß".repeat(700) } }));
    }
    expect(readFileSync(path).at(-1)).not.toBe(0x0a); // cut mid-line
    await exporter.flush(); // still full: the pending records fail
    const failed = errors.flatMap((error) => error.records).map((r) => r.extra.seq);
    expect(failed.length).toBeGreaterThan(0);
    rmSync(filler);
    exporter.export(makeRecord({ extra: { seq: seq++ } }));
    await exporter.close();
    const lines = readFileSync(path, "utf8").slice(0, -1).split("\n");
    const parsed = lines.flatMap((line) => {
      try {
        return [JSON.parse(line).seq as number];
      } catch {
        return []; // the part of a failed record's line that made it to disk
      }
    });
    expect(lines.length - parsed.length).toBeLessThanOrEqual(1);
    expect(parsed.at(-1)).toBe(seq - 1);
    expect([...parsed.slice(0, -1), ...failed]).toEqual(range(seq - 1));
    expect(checkInvariant(exporter)).toMatchObject({ pending: 0 });
    rmSync(path);
  });
});
