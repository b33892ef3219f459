import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectBalanced } from "@a1/siem-testing";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

// Disk faults that a real file system gives only on failing hardware (EIO
// from fdatasync), injected at the file layer, as issue 7 allows where a
// real fault cannot be made here. Everything else is real I/O.
const faults = vi.hoisted(() => ({ fdatasync: 0, write: 0 }));
vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  const fail = (code: string) => Object.assign(new Error(`${code}: injected`), { code });
  return {
    ...fs,
    fdatasyncSync: (fd: number) => {
      if (faults.fdatasync > 0) {
        faults.fdatasync--;
        throw fail("EIO");
      }
      return fs.fdatasyncSync(fd);
    },
    writeSync: (...args: Parameters<typeof fs.writeSync>) => {
      if (faults.write > 0) {
        faults.write--;
        throw fail("ENOSPC");
      }
      return (fs.writeSync as (...a: unknown[]) => number)(...args);
    },
  };
});

import {
  type AuditRecord,
  type BatchExporter,
  BufferedExporter,
  ExportError,
} from "../src/index.js";
import { makeRecords } from "./helpers/records.js";

class Backend implements BatchExporter {
  mode: "up" | "down" = "up";
  readonly got: string[] = [];
  async exportBatch(records: readonly AuditRecord[]): Promise<void> {
    if (this.mode === "down") throw new ExportError("down", { retryable: true });
    for (const record of records) this.got.push(record.eventId);
  }
}

const quick = {
  batchSize: 1,
  flushIntervalMs: 5,
  retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "a1-spool-faults-"));
  faults.fdatasync = 0;
  faults.write = 0;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("spool under injected disk faults", () => {
  it("an fdatasync failure on append keeps numbering right: nothing sent twice after a clean close", async () => {
    const first = new Backend();
    const records = makeRecords(4);
    const errors: ExportError[] = [];
    const exporter = new BufferedExporter(first, {
      ...quick,
      spool: { dir, fsync: "always" },
      onError: (error) => errors.push(error),
    });
    exporter.export(records[0]!);
    faults.fdatasync = 1;
    exporter.export(records[1]!); // written, not durable: kept in memory instead
    exporter.export(records[2]!);
    exporter.export(records[3]!);
    await exporter.close();
    expect(exporter.stats()).toMatchObject({
      received: 4,
      delivered: 4,
      pending: 0,
      spoolErrors: 1,
    });
    expect([...first.got].sort()).toEqual(records.map((r) => r.eventId).sort());
    expect(errors.filter((error) => /write failed \(EIO\)/.test(error.message))).toHaveLength(1);

    const second = new Backend();
    const again = new BufferedExporter(second, { ...quick, spool: { dir, fsync: "always" } });
    await again.close();
    expect(second.got).toEqual([]);
  });

  it("many fdatasync failures do not leave the spool full when idle", async () => {
    const backend = new Backend();
    const exporter = new BufferedExporter(backend, {
      ...quick,
      spool: { dir, fsync: "always", maxBytes: 8_000 },
      onError: () => {},
    });
    for (const record of makeRecords(40)) {
      faults.fdatasync = 1;
      exporter.export(record);
      await exporter.flush();
    }
    const before = exporter.stats().dropped;
    for (const record of makeRecords(10)) exporter.export(record);
    await exporter.close();
    expect(exporter.stats().dropped).toBe(before);
    expect(backend.got).toHaveLength(50);
  });

  it("a memory-only record kept at close counts once: pending is 0 and the next start sends it", async () => {
    const down = new Backend();
    down.mode = "down";
    const records = makeRecords(3);
    const exporter = new BufferedExporter(down, {
      ...quick,
      batchSize: 10,
      flushIntervalMs: 10_000,
      spool: { dir, fsync: "never" },
      onError: () => {},
    });
    exporter.export(records[0]!);
    faults.write = 1;
    exporter.export(records[1]!); // the disk refused it: memory only
    exporter.export(records[2]!);
    await exporter.close();
    const stats = exporter.stats();
    expectBalanced(stats);
    expect(stats).toMatchObject({ pending: 0, retained: 3, failed: 0 });

    const up = new Backend();
    const next = new BufferedExporter(up, { ...quick, spool: { dir, fsync: "never" } });
    await next.close();
    expect([...up.got].sort()).toEqual(records.map((r) => r.eventId).sort());
  });
});
