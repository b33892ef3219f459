import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isBalanced } from "@a1/siem-testing";
import fc from "fast-check";
import { describe, it } from "vitest";
import {
  type AuditRecord,
  type BatchExporter,
  BufferedExporter,
  ExportError,
  type ExporterStats,
  type OverflowPolicy,
} from "../src/index.js";
import { makeRecord } from "./helpers/records.js";

// The accounting invariant with a spool, at every step of a random schedule
// that spans two processes' lifetimes (two exporters on one directory):
// received === delivered + failed + dropped + pending + retained, and every
// record ends with exactly one fate across both lives. Records read back from
// disk are new objects, so fates are tracked by event id.

type Mode = "up" | "down" | "refuse";
type Step =
  | { op: "export"; count: number }
  | { op: "mode"; mode: Mode }
  | { op: "flush" }
  | { op: "turn" };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant("export" as const),
      count: fc.integer({ min: 1, max: 40 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("mode" as const),
      mode: fc.constantFrom<Mode>("up", "down", "refuse"),
    }),
  },
  { weight: 1, arbitrary: fc.constant<Step>({ op: "flush" }) },
  { weight: 2, arbitrary: fc.constant<Step>({ op: "turn" }) },
);

const configArb = fc.record({
  maxQueueSize: fc.integer({ min: 1, max: 30 }),
  batchSize: fc.integer({ min: 1, max: 8 }),
  maxBytes: fc.integer({ min: 2_000, max: 40_000 }),
  segmentBytes: fc.integer({ min: 500, max: 8_000 }),
  overflow: fc.constantFrom<OverflowPolicy>("drop-newest", "drop-oldest"),
  concurrency: fc.integer({ min: 1, max: 3 }),
});

const turn = () => new Promise((resolve) => setTimeout(resolve, 1));

type Config = typeof configArb extends fc.Arbitrary<infer T> ? T : never;

async function runLives(
  config: Config,
  steps: Step[],
  middle: { mode: Mode; exports: number },
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "a1-spool-schedule-"));
  const fates = new Map<string, string[]>();
  const fate = (id: string, what: string) => fates.set(id, [...(fates.get(id) ?? []), what]);
  const failures: string[] = [];
  const check = (ok: boolean, message: string) => {
    if (!ok) failures.push(message);
  };
  const exported: string[] = [];
  let mode: Mode = "down";
  let current: BufferedExporter | undefined;
  const balanced = (where: string, stats: ExporterStats | undefined = current?.stats()) => {
    if (stats) check(isBalanced(stats), `${where}: ${JSON.stringify(stats)}`);
  };
  const backend: BatchExporter = {
    async exportBatch(records: readonly AuditRecord[]) {
      balanced("inside exportBatch");
      await turn();
      if (mode === "down") throw new ExportError("down", { retryable: true, status: 503 });
      if (mode === "refuse") throw new ExportError("refused", { retryable: false, status: 400 });
      for (const record of records) fate(record.eventId, "delivered");
    },
  };
  const open = () =>
    new BufferedExporter(backend, {
      batchSize: config.batchSize,
      concurrency: config.concurrency,
      maxQueueSize: config.maxQueueSize,
      overflow: config.overflow,
      flushIntervalMs: 1,
      retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
      spool: { dir, fsync: "never", maxBytes: config.maxBytes, segmentBytes: config.segmentBytes },
      onError: (error) => {
        balanced(`inside onError(${error.reason})`);
        for (const record of error.records) fate(record.eventId, error.reason);
      },
    });

  try {
    // First life: the schedule, then close() while the backend may be down.
    current = open();
    for (const step of steps) {
      if (step.op === "export") {
        for (let i = 0; i < step.count; i++) {
          const record = makeRecord();
          exported.push(record.eventId);
          current.export(record);
          balanced("after export");
        }
      } else if (step.op === "mode") {
        mode = step.mode;
      } else if (step.op === "flush") {
        if (mode === "up") await current.flush();
      } else {
        await turn();
      }
      balanced(`after ${step.op}`);
    }
    await current.close();
    await turn();
    const first = current.stats();
    balanced("after the first close", first);
    check(first.pending === 0, `pending ${first.pending} after close`);

    // Second life: the backend as the schedule says (down: everything is
    // kept again, after compaction at the first close); a few more records.
    mode = middle.mode;
    current = open();
    const second = current.stats();
    check(
      second.recovered === first.retained,
      `recovered ${second.recovered}, retained ${first.retained}`,
    );
    for (let i = 0; i < middle.exports; i++) {
      const record = makeRecord();
      exported.push(record.eventId);
      current.export(record);
      balanced("after export in the second life");
    }
    await turn();
    await current.close();
    await turn();
    const secondClosed = current.stats();
    balanced("after the second close", secondClosed);

    // Third life: the backend is up; whatever is left is recovered and delivered.
    mode = "up";
    current = open();
    const third = current.stats();
    check(
      third.recovered === secondClosed.retained,
      `third life recovered ${third.recovered}, second retained ${secondClosed.retained}`,
    );
    await current.close();
    await turn();
    const last = current.stats();
    balanced("after the second close", last);
    check(last.pending === 0 && last.retained === 0, `second life left ${JSON.stringify(last)}`);

    for (const id of exported) {
      const seen = fates.get(id) ?? [];
      check(seen.length === 1, `${id} has fates [${seen.join(", ")}]`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (failures.length > 0) throw new Error(failures.slice(0, 5).join("\n"));
}

describe("BufferedExporter with a spool under a randomized schedule", () => {
  it("balances at every step and gives every record one fate across three lives", async () => {
    await fc.assert(
      fc.asyncProperty(
        configArb,
        fc.array(stepArb, { minLength: 1, maxLength: 25 }),
        fc.record({
          mode: fc.constantFrom<Mode>("up", "down"),
          exports: fc.integer({ min: 0, max: 30 }),
        }),
        runLives,
      ),
      { numRuns: 100, interruptAfterTimeLimit: 25_000 },
    );
  }, 60_000);
});
