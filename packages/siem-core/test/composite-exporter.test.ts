import { describe, expect, it } from "vitest";
import {
  type AuditExporter,
  AuditRecord,
  AuditRecordError,
  BufferedExporter,
  CompositeExporter,
  ExportError,
  type ExporterStats,
} from "../src/index.js";
import { makeRecord, makeRecords } from "./helpers/records.js";
import { deferred, expectBalanced, nextTurn, ScriptedBackend } from "./helpers/scripted-backend.js";

/** A child exporter whose behaviour each test sets. */
class TestChild implements AuditExporter {
  readonly seen: AuditRecord[] = [];
  flushes = 0;
  closes = 0;
  exportImpl: (record: AuditRecord) => void = (record) => void this.seen.push(record);
  flushImpl: () => Promise<void> = async () => {};
  closeImpl: () => Promise<void> = async () => {};

  export(record: AuditRecord): void {
    this.exportImpl(record);
  }
  exportDict(dict: Record<string, unknown>): void {
    this.export(AuditRecord.fromDict(dict));
  }
  flush(): Promise<void> {
    this.flushes++;
    return this.flushImpl();
  }
  close(): Promise<void> {
    this.closes++;
    return this.closeImpl();
  }
  stats(): ExporterStats {
    const n = this.seen.length;
    return { received: n, delivered: n, failed: 0, dropped: 0, pending: 0, retries: 0 };
  }
}

describe("CompositeExporter", () => {
  it("sends each record to every child, the same record object, in order", async () => {
    const a = new TestChild();
    const b = new TestChild();
    const composite = new CompositeExporter([a, b]);
    const records = makeRecords(3);
    for (const record of records) composite.export(record);
    expect(a.seen).toEqual(records);
    expect(b.seen).toEqual(records);
    expect(a.seen[0]).toBe(records[0]);
    await composite.close();
  });

  it("a child whose export() throws affects neither the other children nor the caller", async () => {
    const errors: ExportError[] = [];
    const broken = new TestChild();
    broken.exportImpl = () => {
      throw new Error("child bug");
    };
    const healthy = new TestChild();
    const composite = new CompositeExporter([broken, healthy], { onError: (e) => errors.push(e) });
    const record = makeRecord();
    expect(() => composite.export(record)).not.toThrow();
    expect(healthy.seen).toEqual([record]);
    expect(errors).toHaveLength(1);
    expect(ExportError.isInstance(errors[0])).toBe(true);
    expect(errors[0]!.records).toEqual([record]);
    expect(errors[0]!.message).toContain("TestChild.export() threw");
    expect(errors[0]!.message).toContain("child bug");
    await composite.close();
  });

  it("without onError, a throwing child becomes a process warning", async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    try {
      const broken = new TestChild();
      broken.exportImpl = () => {
        throw new Error("child bug");
      };
      const composite = new CompositeExporter([broken]);
      composite.export(makeRecord());
      await nextTurn();
      const ours = warnings.filter((w) => (w as { code?: string }).code === "A1_SIEM_EXPORT");
      expect(ours).toHaveLength(1);
      expect(ours[0]!.message).toMatch(/^\[CompositeExporter\]/);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("a failing backend behind one child does not hold up or fail the others", async () => {
    const failures: ExportError[] = [];
    const down = new BufferedExporter(
      new ScriptedBackend([], () => {
        throw new ExportError("503", { retryable: true, status: 503 });
      }),
      {
        flushIntervalMs: 60_000,
        retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
        onError: (e) => failures.push(e),
      },
    );
    const upBackend = new ScriptedBackend();
    const up = new BufferedExporter(upBackend, { flushIntervalMs: 60_000 });
    const composite = new CompositeExporter([down, up]);
    const records = makeRecords(4);
    for (const record of records) composite.export(record);
    await composite.flush();
    expect(upBackend.accepted).toEqual(records);
    expect(failures.map((e) => e.reason)).toEqual(["retries-exhausted"]);
    const stats = composite.stats();
    expect(stats.children[0]).toMatchObject({ received: 4, failed: 4, pending: 0 });
    expect(stats.children[1]).toMatchObject({ received: 4, delivered: 4, pending: 0 });
    await composite.close();
  });

  it("flush() waits for every child", async () => {
    const gateA = deferred();
    const gateB = deferred();
    const a = new TestChild();
    const b = new TestChild();
    a.flushImpl = () => gateA.promise;
    b.flushImpl = () => gateB.promise;
    const composite = new CompositeExporter([a, b]);
    let done = false;
    const flushed = composite.flush().then(() => {
      done = true;
    });
    expect(a.flushes).toBe(1);
    expect(b.flushes).toBe(1);
    gateA.resolve();
    await nextTurn();
    expect(done).toBe(false);
    gateB.resolve();
    await flushed;
    expect(done).toBe(true);
  });

  it("close() waits for and closes every child, even when one child's close() fails", async () => {
    const errors: ExportError[] = [];
    const gate = deferred();
    const slow = new TestChild();
    slow.closeImpl = () => gate.promise;
    const rejecting = new TestChild();
    rejecting.closeImpl = () => Promise.reject(new Error("close failed"));
    const throwing = new TestChild();
    throwing.closeImpl = () => {
      throw new Error("sync close bug");
    };
    const composite = new CompositeExporter([slow, rejecting, throwing], {
      onError: (e) => errors.push(e),
    });
    let done = false;
    const closed = composite.close().then(() => {
      done = true;
    });
    await nextTurn();
    expect(done).toBe(false);
    expect([slow.closes, rejecting.closes, throwing.closes]).toEqual([1, 1, 1]);
    gate.resolve();
    await expect(closed).resolves.toBeUndefined();
    expect(errors).toHaveLength(2);
    expect(errors.map((e) => (e.cause as Error).message).sort()).toEqual([
      "close failed",
      "sync close bug",
    ]);
  });

  it("flush() never rejects when a child's flush() does", async () => {
    const errors: ExportError[] = [];
    const bad = new TestChild();
    bad.flushImpl = () => Promise.reject(new Error("flush failed"));
    const good = new TestChild();
    const composite = new CompositeExporter([bad, good], { onError: (e) => errors.push(e) });
    await expect(composite.flush()).resolves.toBeUndefined();
    expect(good.flushes).toBe(1);
    expect(errors).toHaveLength(1);
  });

  it("stats() holds totals over the children (a record sent to two counts twice) and each child's stats", async () => {
    const backendA = new ScriptedBackend();
    const backendB = new ScriptedBackend([
      () => {
        throw new ExportError("400", { status: 400 });
      },
    ]);
    const a = new BufferedExporter(backendA, { flushIntervalMs: 60_000 });
    const b = new BufferedExporter(backendB, {
      flushIntervalMs: 60_000,
      maxQueueSize: 2,
      onError: () => {},
    });
    const composite = new CompositeExporter([a, b]);
    for (const record of makeRecords(3)) composite.export(record);
    const before = composite.stats();
    expectBalanced(before);
    expect(before).toMatchObject({ received: 6, dropped: 1, pending: 5 });
    await composite.flush();
    const after = composite.stats();
    expectBalanced(after);
    expect(after.children).toEqual([a.stats(), b.stats()]);
    expect(after).toMatchObject({
      received: 6,
      delivered: 3,
      failed: 2,
      dropped: 1,
      pending: 0,
      retries: 0,
    });
    await composite.close();
  });

  it("exportDict() parses once and sends the same record to every child; bad input throws and reaches no child", async () => {
    const a = new TestChild();
    const b = new TestChild();
    const composite = new CompositeExporter([a, b]);
    composite.exportDict(makeRecord().toDict());
    expect(a.seen).toHaveLength(1);
    expect(a.seen[0]).toBe(b.seen[0]);
    expect(() => composite.exportDict({ chain_depth: "deep" })).toThrow(AuditRecordError);
    expect(() => composite.export({} as AuditRecord)).toThrow(TypeError);
    expect(a.seen).toHaveLength(1);
    await composite.close();
  });

  it("checks its children up front and copies the list", async () => {
    expect(() => new CompositeExporter("x" as never)).toThrow(TypeError);
    expect(() => new CompositeExporter([{ export() {} } as never])).toThrow(/child 0 has no flush/);
    const a = new TestChild();
    const children: AuditExporter[] = [a];
    const composite = new CompositeExporter(children);
    children.push(new TestChild());
    composite.export(makeRecord());
    expect(composite.stats().children).toHaveLength(1);
    await composite.close();
  });

  it("nests: a composite of composites", async () => {
    const leaves = [new TestChild(), new TestChild(), new TestChild()];
    const composite = new CompositeExporter([
      leaves[0]!,
      new CompositeExporter([leaves[1]!, leaves[2]!]),
    ]);
    composite.export(makeRecord());
    await composite.close();
    expect(leaves.map((leaf) => leaf.seen.length)).toEqual([1, 1, 1]);
    expect(leaves.map((leaf) => leaf.closes)).toEqual([1, 1, 1]);
    expect(composite.stats().received).toBe(3);
  });
});
