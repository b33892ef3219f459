import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type AuditExporter,
  AuditRecord,
  AuditRecordError,
  BufferedExporter,
  type DeliveryOptions,
  ExportError,
  type ExporterStats,
} from "../src/index.js";
import { makeRecord, makeRecords } from "./helpers/records.js";
import { deferred, nextTurn, ScriptedBackend, sleep, until } from "./helpers/scripted-backend.js";

/** A BufferedExporter over `backend` whose onError calls are collected. */
function setup(backend: ScriptedBackend, options: DeliveryOptions = {}) {
  const errors: ExportError[] = [];
  const exporter = new BufferedExporter(backend, {
    flushIntervalMs: 60_000,
    retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5 },
    onError: (error) => errors.push(error),
    ...options,
  });
  return { exporter, errors };
}

const ids = (records: readonly AuditRecord[]) => records.map((r) => r.eventId);

describe("BufferedExporter over a BatchExporter", () => {
  describe("batching", () => {
    it("sends a batch as soon as batchSize records are queued, the rest at flush()", async () => {
      const backend = new ScriptedBackend();
      const { exporter } = setup(backend, { batchSize: 4 });
      const records = makeRecords(10);
      for (const record of records) exporter.export(record);
      await until(() => backend.calls.length === 2, "two full batches");
      await nextTurn();
      expect(backend.sizes).toEqual([4, 4]);
      expect(exporter.stats().pending).toBe(2);
      await exporter.flush();
      expect(backend.sizes).toEqual([4, 4, 2]);
      expect(ids(backend.accepted)).toEqual(ids(records));
      expect(exporter.stats()).toEqual({
        received: 10,
        delivered: 10,
        failed: 0,
        dropped: 0,
        pending: 0,
        retries: 0,
      });
      await exporter.close();
    });

    it("sends a partial batch after flushIntervalMs without any flush()", async () => {
      const backend = new ScriptedBackend();
      const { exporter } = setup(backend, { batchSize: 100, flushIntervalMs: 10 });
      exporter.export(makeRecord());
      exporter.export(makeRecord());
      exporter.export(makeRecord());
      expect(backend.calls).toHaveLength(0);
      await until(() => exporter.stats().delivered === 3, "the timer's batch");
      expect(backend.sizes).toEqual([3]);
      // A second window starts with the next record.
      exporter.export(makeRecord());
      await until(() => exporter.stats().delivered === 4, "the second window");
      expect(backend.sizes).toEqual([3, 1]);
      await exporter.close();
    });

    it("cuts batches by maxBatchBytes using the backend's encode(), and passes the encoded form", async () => {
      const backend = new ScriptedBackend();
      const encodeCalls: string[] = [];
      Object.assign(backend, {
        encode: (record: AuditRecord) => {
          encodeCalls.push(record.eventId);
          return `<${record.toNdjson()}>`;
        },
        bytesPerRecordOverhead: 3,
      });
      const records = makeRecords(7);
      const size = Buffer.byteLength(`<${records[0]!.toNdjson()}>`) + 3;
      const { exporter } = setup(backend, { batchSize: 100, maxBatchBytes: size * 3 + 1 });
      for (const record of records) exporter.export(record);
      expect(encodeCalls).toEqual([]); // no serialisation on the export() path
      await exporter.flush();
      expect(backend.sizes).toEqual([3, 3, 1]);
      for (const call of backend.calls) {
        expect(call.encoded).toEqual(call.records.map((r) => `<${r.toNdjson()}>`));
        const bytes = call.encoded!.reduce((sum, e) => sum + Buffer.byteLength(e) + 3, 0);
        expect(bytes).toBeLessThanOrEqual(size * 3 + 1);
      }
      // The record that did not fit is encoded once, not again for the next batch.
      expect(encodeCalls).toEqual(ids(records));
      await exporter.close();
    });

    it("measures toNdjson() plus one byte per record without encode()", async () => {
      const backend = new ScriptedBackend();
      const records = makeRecords(5);
      const line = Buffer.byteLength(records[0]!.toNdjson()) + 1;
      const { exporter } = setup(backend, { batchSize: 100, maxBatchBytes: line * 2 });
      for (const record of records) exporter.export(record);
      await exporter.flush();
      expect(backend.sizes).toEqual([2, 2, 1]);
      expect(backend.calls[0]!.encoded).toBeUndefined();
      await exporter.close();
    });

    it("drops a record larger than maxRecordBytes as oversize and sends the others", async () => {
      const backend = new ScriptedBackend();
      Object.assign(backend, { maxRecordBytes: 600 });
      const { exporter, errors } = setup(backend, { batchSize: 10 });
      const big = makeRecord({ errorMessage: "x".repeat(1000) });
      const small = makeRecords(2);
      exporter.export(small[0]!);
      exporter.export(big);
      exporter.export(small[1]!);
      await exporter.flush();
      expect(ids(backend.accepted)).toEqual(ids(small));
      expect(errors).toHaveLength(1);
      expect(errors[0]!.reason).toBe("oversize");
      expect(errors[0]!.records).toEqual([big]);
      expect(exporter.stats()).toMatchObject({ delivered: 2, dropped: 1, pending: 0 });
      await exporter.close();
    });

    it("clamps batchSize and maxBatchBytes to the backend's limits", async () => {
      const backend = new ScriptedBackend();
      const exporter = new BufferedExporter(
        backend,
        { batchSize: 1000, flushIntervalMs: 60_000 },
        { maxBatchSize: 3 },
      );
      for (const record of makeRecords(7)) exporter.export(record);
      await exporter.flush();
      expect(backend.sizes).toEqual([3, 3, 1]);
      await exporter.close();
    });

    it("rejects nonsense options with an error naming the option", () => {
      const backend = new ScriptedBackend();
      expect(() => new BufferedExporter(backend, { batchSize: 0 })).toThrow(/batchSize/);
      expect(() => new BufferedExporter(backend, { concurrency: 1.5 })).toThrow(/concurrency/);
      expect(() => new BufferedExporter(backend, { retry: { initialDelayMs: -1 } })).toThrow(
        /retry\.initialDelayMs/,
      );
      expect(
        () => new BufferedExporter(backend, { overflow: "drop-all" as "drop-oldest" }),
      ).toThrow(/overflow/);
      expect(() => new BufferedExporter(backend, { onError: "log" as never })).toThrow(/onError/);
      expect(() => new BufferedExporter({} as never)).toThrow(TypeError);
    });
  });

  describe("concurrency", () => {
    it("keeps at most `concurrency` batches in flight", async () => {
      const gates = Array.from({ length: 6 }, () => deferred());
      const backend = new ScriptedBackend(gates.map((gate) => () => gate.promise));
      const { exporter } = setup(backend, { batchSize: 1, concurrency: 2 });
      for (const record of makeRecords(6)) exporter.export(record);
      const flushed = exporter.flush();
      await until(() => backend.calls.length === 2, "two batches in flight");
      await sleep(5);
      expect(backend.calls).toHaveLength(2);
      gates[0]!.resolve();
      await until(() => backend.calls.length === 3, "a third batch once a slot frees");
      for (const gate of gates) gate.resolve();
      await flushed;
      expect(backend.calls).toHaveLength(6);
      expect(backend.maxActive).toBe(2);
      await exporter.close();
    });
  });

  describe("retry", () => {
    it("retries a retryable failure and honours retryAfterMs", async () => {
      const retryAfterMs = 40;
      const backend = new ScriptedBackend([
        () => {
          throw new ExportError("busy", { retryable: true, status: 503, retryAfterMs });
        },
      ]);
      const { exporter, errors } = setup(backend, {
        retry: { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 2 },
      });
      const record = makeRecord();
      exporter.export(record);
      await exporter.flush();
      expect(backend.calls).toHaveLength(2);
      expect(backend.calls[1]!.records).toEqual([record]);
      // Timers never fire early by more than a millisecond's rounding.
      expect(backend.calls[1]!.at - backend.calls[0]!.at).toBeGreaterThanOrEqual(retryAfterMs - 2);
      expect(errors).toEqual([]);
      expect(exporter.stats()).toMatchObject({ delivered: 1, retries: 1, pending: 0 });
      await exporter.close();
    });

    it("gives up after retry.maxAttempts with reason retries-exhausted", async () => {
      const backend = new ScriptedBackend([], () => {
        throw new ExportError("server error", { retryable: true, status: 500 });
      });
      const { exporter, errors } = setup(backend, {
        batchSize: 10,
        retry: { maxAttempts: 4, initialDelayMs: 1, maxDelayMs: 2 },
      });
      const records = makeRecords(3);
      for (const record of records) exporter.export(record);
      await exporter.flush();
      expect(backend.calls).toHaveLength(4);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.reason).toBe("retries-exhausted");
      expect(errors[0]!.status).toBe(500);
      expect(errors[0]!.records).toEqual(records);
      expect(ExportError.isInstance(errors[0])).toBe(true);
      expect(exporter.stats()).toMatchObject({ failed: 3, retries: 3, pending: 0 });
      await exporter.close();
    });

    it("does not retry a permanent refusal: reason rejected, status and cause kept", async () => {
      const refusal = new ExportError("bad request", { status: 400 });
      const backend = new ScriptedBackend([], () => {
        throw refusal;
      });
      const { exporter, errors } = setup(backend, { batchSize: 10 });
      const records = makeRecords(2);
      for (const record of records) exporter.export(record);
      await exporter.flush();
      expect(backend.calls).toHaveLength(1);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ reason: "rejected", status: 400, retryable: false });
      expect(errors[0]!.records).toEqual(records);
      expect(errors[0]!.cause).toBe(refusal);
      expect(exporter.stats()).toMatchObject({ failed: 2, retries: 0, pending: 0 });
      await exporter.close();
    });

    it("treats an error that is not an ExportError as a permanent failure", async () => {
      const backend = new ScriptedBackend([
        () => {
          throw new Error("backend bug");
        },
      ]);
      const { exporter, errors } = setup(backend);
      exporter.export(makeRecord());
      await exporter.flush();
      expect(backend.calls).toHaveLength(1);
      expect(errors[0]!.reason).toBe("rejected");
      expect(errors[0]!.message).toContain("backend bug");
      await exporter.close();
    });

    it("aborts an attempt that outlives timeoutMs, even if the backend ignores its signal, and retries", async () => {
      const backend = new ScriptedBackend([() => new Promise<void>(() => {})]);
      const { exporter, errors } = setup(backend, { timeoutMs: 30 });
      const record = makeRecord();
      exporter.export(record);
      await exporter.flush();
      expect(backend.calls).toHaveLength(2);
      const first = backend.calls[0]!.signal;
      expect(first.aborted).toBe(true);
      expect(ExportError.isInstance(first.reason)).toBe(true);
      expect((first.reason as ExportError).retryable).toBe(true);
      expect(backend.calls[1]!.signal.aborted).toBe(false);
      expect(errors).toEqual([]);
      expect(exporter.stats()).toMatchObject({ delivered: 1, retries: 1, pending: 0 });
      await exporter.close();
    });

    it("reports retries-exhausted when every attempt times out", async () => {
      const backend = new ScriptedBackend([], (call) => {
        // This one honours its signal.
        return new Promise<void>((_resolve, reject) =>
          call.signal.addEventListener("abort", () => reject(call.signal.reason)),
        );
      });
      const { exporter, errors } = setup(backend, {
        timeoutMs: 5,
        retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
      });
      exporter.export(makeRecord());
      await exporter.flush();
      expect(backend.calls).toHaveLength(2);
      expect(errors.map((e) => e.reason)).toEqual(["retries-exhausted"]);
      expect(errors[0]!.message).toMatch(/timed out/);
      await exporter.close();
    });
  });

  describe("too large (413)", () => {
    it("splits the batch until each part is accepted", async () => {
      const backend = new ScriptedBackend([], (call) => {
        if (call.records.length > 2)
          throw new ExportError("too large", { status: 413, tooLarge: true });
      });
      const { exporter, errors } = setup(backend, { batchSize: 8 });
      const records = makeRecords(8);
      for (const record of records) exporter.export(record);
      await exporter.flush();
      expect(backend.sizes).toEqual([8, 4, 2, 2, 4, 2, 2]);
      expect(ids(backend.accepted)).toEqual(ids(records));
      expect(errors).toEqual([]);
      expect(exporter.stats()).toMatchObject({ delivered: 8, retries: 6, pending: 0 });
      await exporter.close();
    });

    it("drops a single record the backend still finds too large as oversize", async () => {
      const big = makeRecord({ errorMessage: "big" });
      const backend = new ScriptedBackend([], (call) => {
        if (call.records.includes(big)) {
          throw new ExportError("payload too large", { status: 413, tooLarge: true });
        }
      });
      const { exporter, errors } = setup(backend, { batchSize: 4 });
      const records = [makeRecord(), makeRecord(), big, makeRecord()];
      for (const record of records) exporter.export(record);
      await exporter.flush();
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ reason: "oversize", status: 413 });
      expect(errors[0]!.records).toEqual([big]);
      expect(ids(backend.accepted)).toEqual(ids(records.filter((r) => r !== big)));
      expect(exporter.stats()).toMatchObject({ delivered: 3, dropped: 1, failed: 0, pending: 0 });
      await exporter.close();
    });
  });

  describe("records named by the backend", () => {
    it("fails just the named records of a refused batch and resends the rest", async () => {
      const records = makeRecords(5);
      const bad = [records[1]!, records[3]!];
      const backend = new ScriptedBackend([
        () => {
          throw new ExportError("invalid event", { status: 400, records: bad });
        },
      ]);
      const { exporter, errors } = setup(backend, { batchSize: 5 });
      for (const record of records) exporter.export(record);
      await exporter.flush();
      expect(backend.sizes).toEqual([5, 3]);
      expect(ids(backend.calls[1]!.records)).toEqual(ids([records[0]!, records[2]!, records[4]!]));
      expect(errors).toHaveLength(1);
      expect(errors[0]!.reason).toBe("rejected");
      expect(errors[0]!.status).toBe(400);
      expect(errors[0]!.records).toEqual(bad);
      expect(exporter.stats()).toMatchObject({ delivered: 3, failed: 2, retries: 1, pending: 0 });
      await exporter.close();
    });

    it("names them rejected even when the error is marked retryable", async () => {
      const records = makeRecords(3);
      const backend = new ScriptedBackend([
        () => {
          throw new ExportError("one event refused", { retryable: true, records: [records[0]!] });
        },
      ]);
      const { exporter, errors } = setup(backend, { batchSize: 3 });
      for (const record of records) exporter.export(record);
      await exporter.flush();
      expect(errors.map((e) => e.reason)).toEqual(["rejected"]);
      expect(errors[0]!.records).toEqual([records[0]]);
      expect(exporter.stats()).toMatchObject({ delivered: 2, failed: 1, pending: 0 });
      await exporter.close();
    });

    it("treats an error naming every record of the batch as a failure of the whole batch", async () => {
      const records = makeRecords(2);
      const backend = new ScriptedBackend([
        () => {
          throw new ExportError("all bad", { status: 400, records });
        },
      ]);
      const { exporter, errors } = setup(backend, { batchSize: 2 });
      for (const record of records) exporter.export(record);
      await exporter.flush();
      expect(backend.calls).toHaveLength(1);
      expect(errors[0]!.records).toEqual(records);
      expect(exporter.stats()).toMatchObject({ failed: 2, pending: 0 });
      await exporter.close();
    });
  });

  describe("PartialBatchResult", () => {
    it("named: the named records fail as rejected, the others count delivered, no resend", async () => {
      const records = makeRecords(5);
      const refused = [records[0]!, records[4]!];
      const backend = new ScriptedBackend([
        () => ({
          rejected: 2,
          error: new ExportError("2 refused", { records: refused, status: 200 }),
        }),
      ]);
      const { exporter, errors } = setup(backend, { batchSize: 5 });
      for (const record of records) exporter.export(record);
      await exporter.flush();
      expect(backend.calls).toHaveLength(1);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.reason).toBe("rejected");
      expect(errors[0]!.records).toEqual(refused);
      expect(exporter.stats()).toMatchObject({ delivered: 3, failed: 2, pending: 0, retries: 0 });
      await exporter.close();
    });

    it("unnamed: `rejected` records count failed; onError gets the batch and the count", async () => {
      const records = makeRecords(5);
      const backend = new ScriptedBackend([
        () => ({ rejected: 2, error: new ExportError("partial success: 2 rejected") }),
      ]);
      const { exporter, errors } = setup(backend, { batchSize: 5 });
      for (const record of records) exporter.export(record);
      await exporter.flush();
      expect(errors).toHaveLength(1);
      expect(errors[0]!.reason).toBe("rejected");
      expect(errors[0]!.rejectedCount).toBe(2);
      expect(errors[0]!.records).toEqual(records);
      expect(errors[0]!.message).toContain("2 of 5");
      expect(exporter.stats()).toMatchObject({ delivered: 3, failed: 2, pending: 0 });
      await exporter.close();
    });

    it("a result with rejected: 0 is a full delivery", async () => {
      const backend = new ScriptedBackend([
        () => ({ rejected: 0, error: new ExportError("none") }),
      ]);
      const { exporter, errors } = setup(backend);
      exporter.export(makeRecord());
      await exporter.flush();
      expect(errors).toEqual([]);
      expect(exporter.stats()).toMatchObject({ delivered: 1, pending: 0 });
      await exporter.close();
    });
  });

  describe("backends that bend the contract", () => {
    it("a resolved value that is not a PartialBatchResult (e.g. a fetch Response) is a delivery", async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on("unhandledRejection", onUnhandled);
      try {
        const backend = new ScriptedBackend([
          () => ({ status: 200, ok: true }) as never,
          () => true as never,
          () => ({ rejected: "2" }) as never,
        ]);
        const { exporter, errors } = setup(backend, { batchSize: 1 });
        for (const record of makeRecords(3)) exporter.export(record);
        await exporter.flush();
        await nextTurn();
        expect(errors).toEqual([]);
        expect(unhandled).toEqual([]);
        expect(exporter.stats()).toMatchObject({ delivered: 3, pending: 0 });
        await exporter.close();
      } finally {
        process.off("unhandledRejection", onUnhandled);
      }
    });

    it("a partial result without an ExportError still fails the count and reports it", async () => {
      const backend = new ScriptedBackend([() => ({ rejected: 1 }) as never]);
      const { exporter, errors } = setup(backend, { batchSize: 2 });
      for (const record of makeRecords(2)) exporter.export(record);
      await exporter.flush();
      expect(errors).toHaveLength(1);
      expect(errors[0]!.rejectedCount).toBe(1);
      expect(exporter.stats()).toMatchObject({ delivered: 1, failed: 1, pending: 0 });
      await exporter.close();
    });

    it("a synchronous exportBatch that returns nothing is a delivery", async () => {
      const seen: number[] = [];
      const backend = {
        exportBatch(records: readonly AuditRecord[]) {
          seen.push(records.length);
        },
      };
      const { exporter, errors } = setup(backend as never, { batchSize: 2 });
      for (const record of makeRecords(3)) exporter.export(record);
      await exporter.flush();
      expect(seen).toEqual([2, 1]);
      expect(errors).toEqual([]);
      expect(exporter.stats()).toMatchObject({ delivered: 3, pending: 0 });
      await exporter.close();
    });

    it("an encode() that throws or returns a non-string fails that record only", async () => {
      const records = makeRecords(4);
      const backend = new ScriptedBackend();
      Object.assign(backend, {
        encode: (record: AuditRecord) => {
          if (record === records[1]) throw new Error("cannot encode");
          if (record === records[2]) return undefined;
          return record.toNdjson();
        },
      });
      const { exporter, errors } = setup(backend, { batchSize: 4 });
      for (const record of records) exporter.export(record);
      await exporter.flush();
      expect(ids(backend.accepted)).toEqual(ids([records[0]!, records[3]!]));
      expect(errors.flatMap((e) => e.records)).toEqual([records[1], records[2]]);
      expect(errors.every((e) => e.reason === "rejected")).toBe(true);
      expect(exporter.stats()).toMatchObject({ delivered: 2, failed: 2, pending: 0 });
      await exporter.close();
    });
  });

  describe("overflow", () => {
    it("drop-newest: a full queue drops the new record, reported by the next turn", async () => {
      const backend = new ScriptedBackend();
      const { exporter, errors } = setup(backend, { batchSize: 100, maxQueueSize: 3 });
      const records = makeRecords(5);
      for (const record of records) exporter.export(record);
      expect(exporter.stats()).toMatchObject({ received: 5, dropped: 2, pending: 3 });
      await nextTurn();
      expect(backend.calls).toHaveLength(0);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.reason).toBe("overflow");
      expect(errors[0]!.records).toEqual(records.slice(3));
      await exporter.flush();
      expect(ids(backend.accepted)).toEqual(ids(records.slice(0, 3)));
      await exporter.close();
    });

    it("drop-oldest: a full queue drops the oldest queued record", async () => {
      const backend = new ScriptedBackend();
      const { exporter, errors } = setup(backend, {
        batchSize: 100,
        maxQueueSize: 3,
        overflow: "drop-oldest",
      });
      expect(exporter.overflow).toBe("drop-oldest");
      const records = makeRecords(5);
      for (const record of records) exporter.export(record);
      expect(exporter.stats()).toMatchObject({ received: 5, dropped: 2, pending: 3 });
      await nextTurn();
      expect(errors.map((e) => e.reason)).toEqual(["overflow"]);
      expect(errors[0]!.records).toEqual(records.slice(0, 2));
      await exporter.flush();
      expect(ids(backend.accepted)).toEqual(ids(records.slice(2)));
      await exporter.close();
    });

    it("counts records in flight against maxQueueSize; drop-oldest never drops one in flight", async () => {
      const gate = deferred();
      const backend = new ScriptedBackend([() => gate.promise]);
      const { exporter, errors } = setup(backend, {
        batchSize: 1,
        concurrency: 1,
        maxQueueSize: 2,
        overflow: "drop-oldest",
      });
      const [first, second, third, fourth] = makeRecords(4);
      exporter.export(first!);
      await until(() => backend.calls.length === 1, "the first batch in flight");
      exporter.export(second!);
      exporter.export(third!); // full: drops `second`, the oldest not in flight
      expect(exporter.stats()).toMatchObject({ pending: 2, dropped: 1 });
      exporter.export(fourth!); // drops `third`
      await nextTurn();
      expect(errors.flatMap((e) => e.records)).toEqual([second, third]);
      gate.resolve();
      await exporter.flush();
      expect(ids(backend.accepted)).toEqual(ids([first!, fourth!]));
      await exporter.close();
    });

    it("flush() resolves only after the drops of records exported before it are reported", async () => {
      const backend = new ScriptedBackend();
      const { exporter, errors } = setup(backend, { batchSize: 100, maxQueueSize: 1 });
      exporter.export(makeRecord());
      exporter.export(makeRecord());
      await exporter.flush();
      expect(errors.map((e) => e.reason)).toEqual(["overflow"]);
      await exporter.close();
      exporter.export(makeRecord());
      await exporter.flush();
      expect(errors.map((e) => e.reason)).toEqual(["overflow", "closed"]);
    });

    it("reports a flood of drops in few calls (one per turn), none lost", async () => {
      const backend = new ScriptedBackend();
      const { exporter, errors } = setup(backend, { batchSize: 100, maxQueueSize: 1 });
      for (const record of makeRecords(1001)) exporter.export(record);
      await nextTurn();
      expect(errors).toHaveLength(1);
      expect(errors[0]!.records).toHaveLength(1000);
      await exporter.close();
    });
  });

  describe("flush() and close()", () => {
    it("flush() settles the records accepted before the call, not later ones", async () => {
      const backend = new ScriptedBackend();
      const { exporter } = setup(backend, { batchSize: 100 });
      const [a, b, c] = makeRecords(3);
      exporter.export(a!);
      exporter.export(b!);
      const flushed = exporter.flush();
      exporter.export(c!);
      await flushed;
      expect(backend.accepted).toContain(a);
      expect(backend.accepted).toContain(b);
      expect(exporter.stats().pending).toBeLessThanOrEqual(1);
      await exporter.flush();
      expect(exporter.stats()).toMatchObject({ delivered: 3, pending: 0 });
      await exporter.close();
    });

    it("flush() waits through retries", async () => {
      const backend = new ScriptedBackend([
        () => {
          throw new ExportError("503", { retryable: true, retryAfterMs: 20 });
        },
        () => {
          throw new ExportError("503", { retryable: true });
        },
      ]);
      const { exporter } = setup(backend);
      exporter.export(makeRecord());
      await exporter.flush();
      expect(backend.calls).toHaveLength(3);
      expect(exporter.stats()).toMatchObject({ delivered: 1, pending: 0, retries: 2 });
      await exporter.close();
    });

    it("flush() with nothing pending resolves, and never rejects", async () => {
      const backend = new ScriptedBackend([], () => {
        throw new ExportError("down", { retryable: false });
      });
      const { exporter } = setup(backend);
      await expect(exporter.flush()).resolves.toBeUndefined();
      exporter.export(makeRecord());
      await expect(exporter.flush()).resolves.toBeUndefined();
      await expect(exporter.close()).resolves.toBeUndefined();
    });

    it("close() flushes, closes the backend once, and is idempotent", async () => {
      const backend = new ScriptedBackend();
      const { exporter } = setup(backend);
      for (const record of makeRecords(3)) exporter.export(record);
      const closes = [exporter.close(), exporter.close()];
      await Promise.all(closes);
      await exporter.close();
      expect(closes[0]).toBe(closes[1]);
      expect(backend.closeCalls).toBe(1);
      expect(exporter.stats()).toMatchObject({ delivered: 3, pending: 0 });
    });

    it("a record exported after close() is dropped with reason closed", async () => {
      const backend = new ScriptedBackend();
      const { exporter, errors } = setup(backend);
      const closing = exporter.close();
      const late = makeRecord();
      exporter.export(late);
      exporter.exportDict(makeRecord().toDict());
      await closing;
      await nextTurn();
      expect(errors.map((e) => e.reason)).toEqual(["closed"]);
      expect(errors[0]!.records).toHaveLength(2);
      expect(errors[0]!.records[0]).toBe(late);
      expect(backend.calls).toHaveLength(0);
      expect(exporter.stats()).toMatchObject({ received: 2, dropped: 2, pending: 0 });
    });

    it("after close() resolves nothing is pending, whatever the backend did", async () => {
      const backend = new ScriptedBackend([], () => {
        throw new ExportError("down", { retryable: true });
      });
      const { exporter } = setup(backend, {
        retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
      });
      for (const record of makeRecords(5)) exporter.export(record);
      await exporter.close();
      expect(exporter.stats()).toMatchObject({ received: 5, failed: 5, pending: 0 });
    });

    it("reports a backend close() that throws, without rejecting", async () => {
      const backend = new ScriptedBackend();
      backend.close = async () => {
        throw new Error("socket already gone");
      };
      const { exporter, errors } = setup(backend);
      await expect(exporter.close()).resolves.toBeUndefined();
      expect(errors).toHaveLength(1);
      expect(errors[0]!.records).toEqual([]);
    });
  });

  describe("errors never reach the caller", () => {
    it("export() never throws for delivery problems; exportDict() throws AuditRecordError on bad input and queues nothing", async () => {
      const backend = new ScriptedBackend([], () => {
        throw new ExportError("down", { retryable: false });
      });
      const { exporter } = setup(backend, { maxQueueSize: 1 });
      expect(() => {
        for (const record of makeRecords(3)) exporter.export(record);
      }).not.toThrow();
      expect(() => exporter.exportDict({ timestamp_unix: -1 })).toThrow(AuditRecordError);
      expect(exporter.stats().received).toBe(3);
      expect(() => exporter.export({ eventId: "x" } as unknown as AuditRecord)).toThrow(TypeError);
      expect(exporter.stats().received).toBe(3);
      await exporter.close();
    });

    it("an onError that throws reaches neither export() nor flush(); it becomes a warning", async () => {
      const warnings: Error[] = [];
      const onWarning = (warning: Error) => warnings.push(warning);
      process.on("warning", onWarning);
      try {
        const backend = new ScriptedBackend([], () => {
          throw new ExportError("down", { retryable: false });
        });
        let calls = 0;
        const exporter = new BufferedExporter(backend, {
          maxQueueSize: 1,
          flushIntervalMs: 60_000,
          onError: () => {
            calls++;
            throw new Error("handler bug");
          },
        });
        exporter.export(makeRecord());
        exporter.export(makeRecord()); // overflow, reported from a microtask
        await nextTurn();
        await expect(exporter.flush()).resolves.toBeUndefined();
        await expect(exporter.close()).resolves.toBeUndefined();
        await nextTurn();
        expect(calls).toBe(2);
        const ours = warnings.filter((w) => (w as { code?: string }).code === "A1_SIEM_EXPORT");
        expect(ours.length).toBeGreaterThanOrEqual(1);
        expect(ours[0]!.message).toContain("onError threw: handler bug");
      } finally {
        process.off("warning", onWarning);
      }
    });

    it("an async onError that rejects is not an unhandled rejection; it becomes a warning", async () => {
      const unhandled: unknown[] = [];
      const warnings: Error[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      const onWarning = (warning: Error) => warnings.push(warning);
      process.on("unhandledRejection", onUnhandled);
      process.on("warning", onWarning);
      try {
        const backend = new ScriptedBackend([], () => {
          throw new ExportError("down", { retryable: false });
        });
        const exporter = new BufferedExporter(backend, {
          flushIntervalMs: 60_000,
          onError: async () => {
            throw new Error("async handler bug");
          },
        });
        exporter.export(makeRecord());
        await exporter.close();
        await sleep(5);
        expect(unhandled).toEqual([]);
        const ours = warnings.filter((w) => (w as { code?: string }).code === "A1_SIEM_EXPORT");
        expect(ours.map((w) => w.message).join()).toContain("onError threw: async handler bug");
      } finally {
        process.off("unhandledRejection", onUnhandled);
        process.off("warning", onWarning);
      }
    });

    it("without onError, failures become rate-limited process warnings naming the exporter", async () => {
      const warnings: Error[] = [];
      const onWarning = (warning: Error) => warnings.push(warning);
      process.on("warning", onWarning);
      try {
        class AcmeExporter extends BufferedExporter {}
        const backend = new ScriptedBackend([], () => {
          throw new ExportError("HTTP 400 from the backend", { status: 400 });
        });
        const exporter = new AcmeExporter(backend, { batchSize: 1, flushIntervalMs: 60_000 });
        for (const record of makeRecords(5)) exporter.export(record);
        await exporter.close();
        await nextTurn();
        expect(exporter.stats()).toMatchObject({ failed: 5, pending: 0 });
        const ours = warnings.filter((w) => (w as { code?: string }).code === "A1_SIEM_EXPORT");
        expect(ours).toHaveLength(1);
        expect(ours[0]!.message).toMatch(/^\[AcmeExporter\] 1 record\(s\) rejected: HTTP 400/);
      } finally {
        process.off("warning", onWarning);
      }
    });
  });

  describe("stats()", () => {
    it("counts retries as attempts after the first, over all batches", async () => {
      const fail = () => {
        throw new ExportError("503", { retryable: true });
      };
      const backend = new ScriptedBackend([fail, fail, () => undefined, fail]);
      const { exporter } = setup(backend, { batchSize: 1, concurrency: 1 });
      exporter.export(makeRecord());
      exporter.export(makeRecord());
      await exporter.flush();
      expect(backend.calls).toHaveLength(5);
      expect(exporter.stats().retries).toBe(3);
      await exporter.close();
    });

    it("returns a snapshot, not a live object", async () => {
      const { exporter } = setup(new ScriptedBackend());
      const before: ExporterStats = exporter.stats();
      exporter.export(makeRecord());
      expect(before.received).toBe(0);
      expect(exporter.stats().received).toBe(1);
      await exporter.close();
    });
  });
});

describe("BufferedExporter over a plain AuditExporter (the reference's shape)", () => {
  class ListExporter implements AuditExporter {
    readonly seen: AuditRecord[] = [];
    flushes = 0;
    closes = 0;
    failOn = new Set<AuditRecord>();
    export(record: AuditRecord): void {
      if (this.failOn.has(record)) throw new Error("cannot export this one");
      this.seen.push(record);
    }
    exportDict(dict: Record<string, unknown>): void {
      this.export(AuditRecord.fromDict(dict));
    }
    async flush(): Promise<void> {
      this.flushes++;
    }
    async close(): Promise<void> {
      this.closes++;
    }
    stats(): ExporterStats {
      return { received: 0, delivered: 0, failed: 0, dropped: 0, pending: 0, retries: 0 };
    }
  }

  let errors: ExportError[];
  beforeEach(() => {
    errors = [];
  });
  afterEach(() => {
    errors = [];
  });

  it("batches records into the downstream's export(), flushes and closes it once", async () => {
    const downstream = new ListExporter();
    const exporter = new BufferedExporter(downstream, {
      batchSize: 3,
      flushIntervalMs: 60_000,
      onError: (e) => errors.push(e),
    });
    const records = makeRecords(7);
    for (const record of records) exporter.export(record);
    await until(() => downstream.seen.length === 6, "two full batches");
    await exporter.flush();
    expect(ids(downstream.seen)).toEqual(ids(records));
    expect(downstream.flushes).toBe(1);
    await exporter.close();
    await exporter.close();
    expect(downstream.closes).toBe(1);
    expect(errors).toEqual([]);
    expect(exporter.stats()).toMatchObject({ received: 7, delivered: 7, pending: 0 });
  });

  it("a record whose export() throws is rejected; the rest of its batch is delivered", async () => {
    const downstream = new ListExporter();
    const records = makeRecords(4);
    downstream.failOn.add(records[2]!);
    const exporter = new BufferedExporter(downstream, {
      batchSize: 4,
      flushIntervalMs: 60_000,
      onError: (e) => errors.push(e),
    });
    for (const record of records) exporter.export(record);
    await exporter.flush();
    expect(ids(downstream.seen)).toEqual(ids([records[0]!, records[1]!, records[3]!]));
    expect(errors).toHaveLength(1);
    expect(errors[0]!.reason).toBe("rejected");
    expect(errors[0]!.records).toEqual([records[2]]);
    expect(errors[0]!.message).toContain("cannot export this one");
    expect(exporter.stats()).toMatchObject({ delivered: 3, failed: 1, pending: 0 });
    await exporter.close();
  });

  it("a downstream whose export() always throws fails every record, and the engine keeps going", async () => {
    const downstream = new ListExporter();
    const records = makeRecords(4);
    for (const record of records.slice(0, 2)) downstream.failOn.add(record);
    const exporter = new BufferedExporter(downstream, {
      batchSize: 2,
      flushIntervalMs: 60_000,
      onError: (e) => errors.push(e),
    });
    for (const record of records) exporter.export(record);
    await exporter.close();
    expect(errors.flatMap((e) => e.records)).toEqual(records.slice(0, 2));
    expect(ids(downstream.seen)).toEqual(ids(records.slice(2)));
    expect(exporter.stats()).toMatchObject({ delivered: 2, failed: 2, pending: 0 });
  });

  it("accepts a minimal downstream with export() only (no flush or close): no spurious errors", async () => {
    const seen: AuditRecord[] = [];
    const downstream = { export: (record: AuditRecord) => void seen.push(record) };
    const exporter = new BufferedExporter(downstream as unknown as AuditExporter, {
      flushIntervalMs: 60_000,
      onError: (e) => errors.push(e),
    });
    exporter.export(makeRecord());
    await exporter.flush();
    await exporter.close();
    expect(seen).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it("wraps another BufferedExporter", async () => {
    const backend = new ScriptedBackend();
    const inner = new BufferedExporter(backend, { flushIntervalMs: 60_000 });
    const outer = new BufferedExporter(inner, { flushIntervalMs: 60_000, batchSize: 2 });
    for (const record of makeRecords(5)) outer.export(record);
    await outer.close();
    expect(backend.accepted).toHaveLength(5);
    expect(backend.closeCalls).toBe(1);
    expect(inner.stats()).toMatchObject({ received: 5, delivered: 5, pending: 0 });
  });
});
