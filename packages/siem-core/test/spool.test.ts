import { execFileSync } from "node:child_process";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectBalanced } from "@a1/siem-testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type AuditRecord,
  type BatchExporter,
  BufferedExporter,
  type DeliveryOptions,
  ExportError,
} from "../src/index.js";
import { makeRecords } from "./helpers/records.js";

/** A backend the test switches between up, down (retryable) and refusing (permanent). */
class SwitchableBackend implements BatchExporter {
  mode: "up" | "down" | "refuse" = "up";
  readonly received: AuditRecord[] = [];
  attempts = 0;
  onAttempt: (() => void) | undefined;

  async exportBatch(records: readonly AuditRecord[]): Promise<void> {
    this.attempts++;
    this.onAttempt?.();
    if (this.mode === "down")
      throw new ExportError("backend down", { retryable: true, status: 503 });
    if (this.mode === "refuse")
      throw new ExportError("bad data", { retryable: false, status: 400 });
    this.received.push(...records);
  }
}

const quick: DeliveryOptions = {
  batchSize: 50,
  flushIntervalMs: 5,
  retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5 },
  timeoutMs: 2_000,
};

let dir: string;
let errors: ExportError[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "a1-spool-test-"));
  errors = [];
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function open(backend: BatchExporter, extra: DeliveryOptions = {}): BufferedExporter {
  return new BufferedExporter(backend, {
    ...quick,
    ...extra,
    spool: { dir, fsync: "never", ...extra.spool },
    onError: (error) => {
      errors.push(error);
    },
  });
}

const segments = (): string[] => readdirSync(dir).filter((name) => name.startsWith("segment-"));
const ids = (records: readonly AuditRecord[]): string[] => records.map((record) => record.eventId);

describe("spool", () => {
  it("delivers through the spool and deletes segments once every record is settled", async () => {
    const backend = new SwitchableBackend();
    const exporter = open(backend);
    const records = makeRecords(500);
    for (const record of records) exporter.export(record);
    // Before export() returned, each record was on disk.
    expect(segments().length).toBeGreaterThan(0);
    expect(exporter.stats().spoolBytes).toBeGreaterThan(0);
    await exporter.close();
    expect(ids(backend.received)).toEqual(ids(records));
    expect(exporter.stats()).toMatchObject({
      received: 500,
      delivered: 500,
      pending: 0,
      retained: 0,
    });
    expect(segments()).toEqual([]);
    expect(existsSync(join(dir, "LOCK"))).toBe(false);
  });

  it("keeps what the backend could not take at close() for the next process, which delivers it first, in order", async () => {
    const down = new SwitchableBackend();
    down.mode = "down";
    const first = open(down);
    const older = makeRecords(300);
    for (const record of older) first.export(record);
    await first.close();
    const closed = first.stats();
    expectBalanced(closed);
    expect(closed).toMatchObject({ received: 300, delivered: 0, pending: 0, retained: 300 });
    expect(errors.filter((error) => error.records.length > 0)).toEqual([]);
    expect(segments().length).toBeGreaterThan(0);

    const up = new SwitchableBackend();
    const second = open(up);
    expect(second.stats()).toMatchObject({ recovered: 300, received: 300, pending: 300 });
    const newer = makeRecords(20);
    for (const record of newer) second.export(record);
    await second.close();
    expect(ids(up.received)).toEqual([...ids(older), ...ids(newer)]);
    expect(second.stats()).toMatchObject({
      received: 320,
      delivered: 320,
      pending: 0,
      retained: 0,
    });
    expect(segments()).toEqual([]);
  });

  it("holds more than maxQueueSize on disk and reads it back in order when the backend returns", async () => {
    const backend = new SwitchableBackend();
    backend.mode = "down";
    const exporter = open(backend, {
      maxQueueSize: 40,
      retry: { maxAttempts: 1000, initialDelayMs: 1, maxDelayMs: 2 },
    });
    const records = makeRecords(2_000);
    for (const record of records) {
      exporter.export(record);
      expectBalanced(exporter.stats());
    }
    expect(exporter.stats()).toMatchObject({ received: 2_000, dropped: 0, pending: 2_000 });
    expect(exporter.stats().spooled).toBe(2_000);
    backend.mode = "up";
    await exporter.flush();
    expect(ids(backend.received)).toEqual(ids(records));
    expect(exporter.stats()).toMatchObject({ delivered: 2_000, pending: 0 });
    await exporter.close();
  });

  it("applies the overflow policy at spool.maxBytes and reports every drop", async () => {
    const backend = new SwitchableBackend();
    backend.mode = "down";
    const exporter = open(backend, {
      maxQueueSize: 10,
      retry: { maxAttempts: 1000, initialDelayMs: 1, maxDelayMs: 2 },
      spool: { dir, maxBytes: 20_000, segmentBytes: 4_000, fsync: "never" },
    });
    const records = makeRecords(200);
    for (const record of records) exporter.export(record);
    await new Promise((resolve) => setImmediate(resolve));
    const stats = exporter.stats();
    expectBalanced(stats);
    expect(stats.dropped).toBeGreaterThan(0);
    expect(stats.spoolBytes).toBeLessThanOrEqual(20_000);
    const overflowed = errors
      .filter((error) => error.reason === "overflow")
      .flatMap((error) => error.records);
    expect(overflowed.length).toBe(stats.dropped);
    // drop-newest: the newest records are the ones refused.
    expect(ids(overflowed)).toEqual(ids(records.slice(200 - stats.dropped)));
    backend.mode = "up";
    await exporter.close();
    expect(ids(backend.received)).toEqual(ids(records.slice(0, 200 - stats.dropped)));
  });

  it.each([
    ["several segments", 4_000],
    ["one segment", 8 * 1024 * 1024],
  ])(
    "with drop-oldest (%s), drops the oldest records waiting in memory, one at a time, to make room",
    async (_, segmentBytes) => {
      const backend = new SwitchableBackend();
      backend.mode = "down";
      const exporter = open(backend, {
        maxQueueSize: 500,
        batchSize: 5,
        concurrency: 1,
        overflow: "drop-oldest",
        retry: { maxAttempts: 1000, initialDelayMs: 1, maxDelayMs: 2 },
        spool: { dir, maxBytes: 20_000, segmentBytes, fsync: "never" },
      });
      const records = makeRecords(200);
      for (const record of records) exporter.export(record);
      await new Promise((resolve) => setImmediate(resolve));
      const stats = exporter.stats();
      expectBalanced(stats);
      expect(stats.dropped).toBeGreaterThan(0);
      backend.mode = "up";
      await exporter.close();
      const delivered = ids(backend.received);
      // The newest record always made it; the dropped ones are older ones.
      expect(delivered.at(-1)).toBe(records.at(-1)!.eventId);
      const dropped = errors
        .filter((error) => error.reason === "overflow")
        .flatMap((error) => ids(error.records));
      expect(dropped.length).toBe(stats.dropped);
      expect(new Set([...delivered, ...dropped]).size).toBe(200);
      // One at a time: no more dropped than the room the newer records needed.
      const frame = records[0]!.toNdjson().length + 10;
      expect(stats.dropped).toBeLessThanOrEqual(200 - Math.floor(20_000 / frame) + 5);
    },
  );

  it("skips and reports a torn tail, a corrupt frame, an empty segment and a foreign file without crashing", async () => {
    const down = new SwitchableBackend();
    down.mode = "down";
    const first = open(down);
    const records = makeRecords(30);
    for (const record of records) first.export(record);
    await first.close();
    const [segment] = segments();
    const path = join(dir, segment!);
    // Corrupt the 5th frame's checksum, add a torn tail, an empty segment and a stranger.
    const lines = readFileSync(path, "utf8").split("\n");
    lines[4] = `00000000${lines[4]!.slice(8)}`;
    writeFileSync(path, lines.join("\n"));
    appendFileSync(path, '1234abcd {"event_id":"half-writ');
    writeFileSync(join(dir, "segment-9999999999999999.log"), "");
    writeFileSync(join(dir, "notes.txt"), "not a segment");

    const up = new SwitchableBackend();
    const second = open(up);
    await second.close();
    expect(second.stats()).toMatchObject({ recovered: 29, delivered: 29, pending: 0 });
    const expected = ids(records);
    expected.splice(4, 1);
    expect(ids(up.received)).toEqual(expected);
    const report = errors.find((error) => error.message.includes("corrupt"));
    expect(report?.message).toMatch(/1 corrupt frame\(s\) and a torn tail/);
    expect(report?.message).toContain("notes.txt");
    expect(existsSync(join(dir, "notes.txt"))).toBe(true);
    expect(segments()).toEqual([]);
  });

  it("gives a second owner of the directory a clear error, and takes over a lock left by a dead process", async () => {
    const first = open(new SwitchableBackend());
    expect(() => open(new SwitchableBackend())).toThrow(
      /spool directory is in use by another exporter/,
    );
    await first.close();

    // A lock whose owner is dead: the pid of a process that has exited.
    const deadPid = Number(
      execFileSync(process.execPath, ["-e", "console.log(process.pid)"], { encoding: "utf8" }),
    );
    writeFileSync(join(dir, "LOCK"), `${deadPid}\n`);
    const second = open(new SwitchableBackend());
    expect(readFileSync(join(dir, "LOCK"), "utf8").trim()).toBe(String(process.pid));
    await second.close();

    // A lock held by a live process that is not this one.
    writeFileSync(join(dir, "LOCK"), `${process.ppid}\n`);
    expect(() => open(new SwitchableBackend())).toThrow(
      new RegExp(`in use by process ${process.ppid}`),
    );
  });

  it("keeps records that failed for good in dead-letter.ndjson, which replays through exportDict", async () => {
    const backend = new SwitchableBackend();
    backend.mode = "refuse";
    const exporter = open(backend, { spool: { dir, deadLetter: true, fsync: "never" } });
    const records = makeRecords(25);
    for (const record of records) exporter.export(record);
    await exporter.close();
    expect(exporter.stats()).toMatchObject({ failed: 25, pending: 0 });
    const lines = readFileSync(join(dir, "dead-letter.ndjson"), "utf8").trimEnd().split("\n");
    expect(lines).toEqual(records.map((record) => record.toNdjson()));
    expect(statSync(join(dir, "dead-letter.ndjson")).mode & 0o777).toBe(0o600);

    // The documented replay: read the lines back into any exporter.
    const replayed = new SwitchableBackend();
    const replay = new BufferedExporter(replayed, quick);
    for (const line of lines) replay.exportDict(JSON.parse(line));
    await replay.close();
    expect(ids(replayed.received)).toEqual(ids(records));
  });

  it("keeps records in memory and reports once when the spool cannot be written (disk full)", async () => {
    // A 64 KiB tmpfs fills up for real; without the right to mount, a file
    // where the spool directory should be makes every append fail instead.
    const mountPoint = join(dir, "small");
    mkdirSync(mountPoint);
    let mounted = false;
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mountPoint], {
        stdio: "ignore",
      });
      mounted = true;
    } catch {
      // Not allowed here: fall back below.
    }
    try {
      const backend = new SwitchableBackend();
      backend.mode = "down";
      const spoolDir = join(mountPoint, "spool");
      const exporter = new BufferedExporter(backend, {
        ...quick,
        maxQueueSize: 5_000,
        retry: { maxAttempts: 1000, initialDelayMs: 1, maxDelayMs: 2 },
        spool: { dir: spoolDir, fsync: "never", segmentBytes: 16 * 1024 },
        onError: (error) => errors.push(error),
      });
      if (!mounted) rmSync(spoolDir, { recursive: true, force: true });
      if (!mounted) writeFileSync(spoolDir, "a file where the directory was");
      const records = makeRecords(400);
      for (const record of records) {
        exporter.export(record);
        expectBalanced(exporter.stats());
      }
      await new Promise((resolve) => setImmediate(resolve));
      const stats = exporter.stats();
      expect(stats.spoolErrors).toBeGreaterThan(0);
      const reports = errors.filter((error) => error.message.includes("write failed"));
      expect(reports).toHaveLength(1);
      expect(reports[0]!.message).toMatch(/ENOSPC|ENOTDIR|ENOENT/);
      backend.mode = "up";
      await exporter.close();
      // Nothing lost: what fit on disk and what stayed in memory both arrived.
      expect(ids(backend.received).sort()).toEqual(ids(records).sort());
      expectBalanced(exporter.stats());
    } finally {
      if (mounted) execFileSync("umount", [mountPoint]);
    }
  });
});

describe("spool, after review", () => {
  it("never stays full once its records are delivered (maxBytes below the default segment size)", async () => {
    const backend = new SwitchableBackend();
    backend.mode = "down";
    const exporter = open(backend, {
      maxQueueSize: 50,
      retry: { maxAttempts: 1000, initialDelayMs: 1, maxDelayMs: 2 },
      spool: { dir, maxBytes: 64 * 1024, fsync: "never" },
    });
    for (const record of makeRecords(300)) exporter.export(record);
    await new Promise((resolve) => setImmediate(resolve));
    const during = exporter.stats();
    expect(during.dropped).toBeGreaterThan(0);
    backend.mode = "up";
    await exporter.flush();
    const later = makeRecords(100);
    for (const record of later) exporter.export(record);
    await exporter.close();
    expect(exporter.stats().dropped).toBe(during.dropped);
    expect(ids(backend.received).slice(-100)).toEqual(ids(later));
    expect(segments()).toEqual([]);
  });

  it("counts as retained only what is on disk: records kept in memory after a disk failure fail, reported", async () => {
    const backend = new SwitchableBackend();
    backend.mode = "down";
    const spoolDir = join(dir, "spool");
    const exporter = new BufferedExporter(backend, {
      ...quick,
      spool: { dir: spoolDir, fsync: "never", segmentBytes: 1 },
      onError: (error) => errors.push(error),
    });
    // Every append opens a new segment (segmentBytes 1): with the directory
    // replaced by a file, every append fails.
    rmSync(spoolDir, { recursive: true, force: true });
    writeFileSync(spoolDir, "a file where the directory was");
    const records = makeRecords(50);
    for (const record of records) exporter.export(record);
    await exporter.close();
    const stats = exporter.stats();
    expectBalanced(stats);
    expect(stats).toMatchObject({ retained: 0, pending: 0, failed: 50 });
    const failed = errors
      .filter((error) => error.reason === "retries-exhausted")
      .flatMap((error) => ids(error.records));
    expect(failed.sort()).toEqual(ids(records).sort());
  });

  it("gives up, reported, on records whose segment vanished, instead of holding close() for ever", async () => {
    const down = new SwitchableBackend();
    down.mode = "down";
    const first = open(down, { spool: { dir, fsync: "never", segmentBytes: 2_000 } });
    for (const record of makeRecords(60)) first.export(record);
    await first.close();
    const before = segments();
    expect(before.length).toBeGreaterThan(2);

    const up = new SwitchableBackend();
    const second = open(up, {
      maxQueueSize: 5,
      batchSize: 5,
      spool: { dir, fsync: "never", segmentBytes: 2_000 },
    });
    // A segment still unread disappears behind the spool's back.
    rmSync(join(dir, before[1]!));
    await second.close();
    const stats = second.stats();
    expectBalanced(stats);
    expect(stats.pending).toBe(0);
    expect(stats.delivered + stats.failed).toBe(60);
    expect(stats.failed).toBeGreaterThan(0);
    expect(errors.some((error) => /spooled record\(s\) lost/.test(error.message))).toBe(true);
  });
});
