import fc from "fast-check";
import { describe, it } from "vitest";
import {
  type AuditRecord,
  type BatchExporter,
  BufferedExporter,
  type ExportBatchOptions,
  ExportError,
  type ExporterStats,
  type ExportFailureReason,
  type OverflowPolicy,
  type PartialBatchResult,
} from "../src/index.js";
import { makeRecord } from "./helpers/records.js";
import { nextTurn, sleep } from "./helpers/scripted-backend.js";

// A randomized schedule of exports, flushes and waits against a backend whose
// answers follow a random fault list (retryable, permanent, too large, named
// and unnamed partial refusals, hangs that ignore or honour the abort signal,
// synchronous throws). The accounting invariant is checked after every step,
// inside every backend call and inside every onError call; at the end every
// record must have exactly one fate.

type Fault =
  | { kind: "ok"; delayMs: number }
  | { kind: "retryable"; retryAfterMs: number | undefined }
  | { kind: "permanent" }
  | { kind: "too-large" }
  | { kind: "reject-named" }
  | { kind: "partial-named" }
  | { kind: "partial-unnamed" }
  | { kind: "hang-ignore" }
  | { kind: "hang-abort" }
  | { kind: "throw" };

type Step =
  | { op: "export"; count: number; big: boolean }
  | { op: "exportDict" }
  | { op: "flush"; wait: boolean }
  | { op: "wait"; ms: number }
  | { op: "turn" };

interface Config {
  batchSize: number;
  concurrency: number;
  maxQueueSize: number;
  overflow: OverflowPolicy;
  maxAttempts: number;
  timeoutMs: number;
  flushIntervalMs: number;
  encode: boolean;
  maxRecordBytes: number | undefined;
  /** Export (and flush) from inside exportBatch and onError, a few times per run. */
  reentrant: boolean;
}

const faultArb: fc.Arbitrary<Fault> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("ok" as const),
      delayMs: fc.integer({ min: 0, max: 2 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("retryable" as const),
      retryAfterMs: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
    }),
  },
  ...(
    [
      "permanent",
      "too-large",
      "reject-named",
      "partial-named",
      "partial-unnamed",
      "hang-ignore",
      "hang-abort",
      "throw",
    ] as const
  ).map((kind) => ({ weight: 1, arbitrary: fc.constant({ kind } as Fault) })),
);

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("export" as const),
      count: fc.integer({ min: 1, max: 6 }),
      big: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: "exportDict" } as Step) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("flush" as const), wait: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("wait" as const), ms: fc.integer({ min: 0, max: 6 }) }),
  },
  { weight: 2, arbitrary: fc.constant({ op: "turn" } as Step) },
);

const configArb: fc.Arbitrary<Config> = fc.record({
  batchSize: fc.integer({ min: 1, max: 6 }),
  concurrency: fc.integer({ min: 1, max: 3 }),
  maxQueueSize: fc.integer({ min: 1, max: 25 }),
  overflow: fc.constantFrom<OverflowPolicy>("drop-newest", "drop-oldest"),
  maxAttempts: fc.integer({ min: 1, max: 3 }),
  timeoutMs: fc.integer({ min: 3, max: 12 }),
  flushIntervalMs: fc.integer({ min: 0, max: 15 }),
  encode: fc.boolean(),
  maxRecordBytes: fc.option(fc.constant(700), { nil: undefined }),
  reentrant: fc.boolean(),
});

const DROP_REASONS = new Set<ExportFailureReason>(["overflow", "closed", "oversize"]);

class Model {
  readonly exported: AuditRecord[] = [];
  readonly accepted = new Set<AuditRecord>();
  readonly reported = new Map<AuditRecord, ExportFailureReason>();
  /** Batches the backend accepted in part without naming the refused records. */
  readonly unnamedPartials: { records: Set<AuditRecord>; rejected: number; reported: boolean }[] =
    [];
  calls = 0;
  /** Re-entrant exports left (from inside exportBatch or onError). */
  reentrantBudget = 6;
  exporter: BufferedExporter | undefined;
  active = 0;
  private readonly failures: string[] = [];

  constructor(
    readonly config: Config,
    readonly stats: () => ExporterStats,
  ) {}

  /** Records a broken rule; thrown at the end of the run (throwing inside callbacks would hide it). */
  check(condition: boolean, message: string): void {
    if (!condition) this.failures.push(message);
  }

  checkBalanced(where: string): void {
    const s = this.stats();
    this.check(
      s.received === s.delivered + s.failed + s.dropped + s.pending,
      `${where}: received ${s.received} !== delivered ${s.delivered} + failed ${s.failed} + dropped ${s.dropped} + pending ${s.pending}`,
    );
    this.check(s.pending >= 0 && s.retries >= 0, `${where}: negative counter ${JSON.stringify(s)}`);
    this.check(
      s.received === this.exported.length,
      `${where}: received ${s.received}, exported ${this.exported.length}`,
    );
    this.check(
      s.pending <= this.config.maxQueueSize,
      `${where}: pending ${s.pending} > maxQueueSize`,
    );
  }

  throwIfFailed(): void {
    if (this.failures.length > 0) throw new Error(this.failures.slice(0, 5).join("\n"));
  }
}

function makeBackend(model: Model, faults: Fault[]): BatchExporter {
  const encode = (record: AuditRecord) => `${record.toNdjson()}\n`;
  const backend: BatchExporter = {
    exportBatch(records: readonly AuditRecord[], { signal, encoded }: ExportBatchOptions) {
      model.checkBalanced("inside exportBatch");
      if (model.config.reentrant && model.reentrantBudget > 0) {
        model.reentrantBudget--;
        const record = makeRecord();
        model.exported.push(record);
        model.exporter?.export(record);
        void model.exporter?.flush();
        model.checkBalanced("inside exportBatch, after a re-entrant export");
      }
      const { config } = model;
      model.check(records.length >= 1, "empty batch");
      model.check(
        records.length <= config.batchSize,
        `batch of ${records.length} > batchSize ${config.batchSize}`,
      );
      model.active++;
      model.check(
        model.active <= config.concurrency,
        `${model.active} attempts in flight > concurrency`,
      );
      let ended = false;
      const end = () => {
        if (!ended) {
          ended = true;
          model.active--;
        }
      };
      signal.addEventListener("abort", end, { once: true });
      for (const record of records) {
        model.check(
          !model.accepted.has(record) && !model.reported.has(record),
          `record ${record.eventId} sent after it was settled`,
        );
      }
      if (config.encode) {
        model.check(
          JSON.stringify(encoded) === JSON.stringify(records.map(encode)),
          "encoded does not match the records",
        );
      }
      const fault = faults[model.calls++ % faults.length]!;
      const evens = records.filter((_, i) => i % 2 === 0);
      const accept = (list: readonly AuditRecord[]) => {
        for (const record of list) {
          model.check(!model.accepted.has(record), `record ${record.eventId} delivered twice`);
          model.accepted.add(record);
        }
      };
      const settle = <T>(promise: Promise<T>) => promise.finally(end);
      switch (fault.kind) {
        case "ok":
          return settle(
            (async () => {
              if (fault.delayMs > 0) await sleep(fault.delayMs);
              if (signal.aborted) throw signal.reason;
              accept(records);
            })(),
          );
        case "retryable":
          end();
          return Promise.reject(
            new ExportError("503 busy", {
              retryable: true,
              status: 503,
              ...(fault.retryAfterMs === undefined ? {} : { retryAfterMs: fault.retryAfterMs }),
            }),
          );
        case "permanent":
          end();
          return Promise.reject(new ExportError("400 bad request", { status: 400 }));
        case "too-large":
          end();
          return Promise.reject(new ExportError("413", { status: 413, tooLarge: true }));
        case "reject-named":
          end();
          return Promise.reject(new ExportError("invalid event", { status: 400, records: evens }));
        case "partial-named": {
          end();
          if (records.length < 2) {
            accept(records);
            return Promise.resolve();
          }
          accept(records.filter((_, i) => i % 2 === 1));
          const result: PartialBatchResult = {
            rejected: evens.length,
            error: new ExportError("some refused", { records: evens }),
          };
          return Promise.resolve(result);
        }
        case "partial-unnamed": {
          end();
          const rejected = Math.ceil(records.length / 2);
          model.unnamedPartials.push({ records: new Set(records), rejected, reported: false });
          return Promise.resolve({
            rejected,
            error: new ExportError("partial success", { rejectedCount: rejected }),
          });
        }
        case "hang-ignore":
          return new Promise<void>(() => {});
        case "hang-abort":
          return new Promise<void>((_resolve, reject) => {
            signal.addEventListener("abort", () => reject(signal.reason), { once: true });
          });
        case "throw":
          end();
          throw new Error("backend bug");
      }
    },
  };
  if (model.config.encode) backend.encode = encode;
  if (model.config.maxRecordBytes !== undefined) {
    Object.assign(backend, { maxRecordBytes: model.config.maxRecordBytes });
  }
  return backend;
}

async function runSchedule(config: Config, faults: Fault[], steps: Step[]): Promise<void> {
  let exporter!: BufferedExporter;
  const model = new Model(config, () => exporter.stats());
  const onError = (error: ExportError) => {
    model.checkBalanced(`inside onError(${error.reason})`);
    if (config.reentrant && model.reentrantBudget > 0) {
      model.reentrantBudget--;
      const record = makeRecord();
      model.exported.push(record);
      exporter.export(record);
      model.checkBalanced("inside onError, after a re-entrant export");
    }
    model.check(ExportError.isInstance(error), "onError got something else than an ExportError");
    if (error.rejectedCount !== undefined) {
      const batch = model.unnamedPartials.find(
        (p) =>
          !p.reported &&
          p.records.size === error.records.length &&
          error.records.every((r) => p.records.has(r)),
      );
      model.check(batch !== undefined, "an unnamed partial refusal that the backend did not make");
      if (batch) {
        batch.reported = true;
        model.check(
          error.rejectedCount === batch.rejected,
          "rejectedCount differs from the backend's",
        );
      }
      return;
    }
    model.check(
      error.records.length > 0,
      `onError(${error.reason}) without records: ${error.message}`,
    );
    for (const record of error.records) {
      model.check(!model.reported.has(record), `record ${record.eventId} reported twice`);
      model.check(!model.accepted.has(record), `record ${record.eventId} reported after delivery`);
      model.reported.set(record, error.reason);
    }
  };
  exporter = new BufferedExporter(makeBackend(model, faults), {
    batchSize: config.batchSize,
    concurrency: config.concurrency,
    maxQueueSize: config.maxQueueSize,
    overflow: config.overflow,
    timeoutMs: config.timeoutMs,
    flushIntervalMs: config.flushIntervalMs,
    retry: { maxAttempts: config.maxAttempts, initialDelayMs: 1, maxDelayMs: 3 },
    onError,
  });

  model.exporter = exporter;
  const flushes: Promise<void>[] = [];
  for (const step of steps) {
    switch (step.op) {
      case "export":
        for (let i = 0; i < step.count; i++) {
          const record = makeRecord(step.big && i === 0 ? { errorMessage: "x".repeat(800) } : {});
          model.exported.push(record);
          exporter.export(record);
        }
        break;
      case "exportDict": {
        const record = makeRecord();
        const before = exporter.stats().received;
        exporter.exportDict(record.toDict());
        model.check(exporter.stats().received === before + 1, "exportDict did not count");
        // exportDict builds its own record: track that one by identity through the backend.
        model.exported.push(record);
        trackByEventId.set(record.eventId, record);
        break;
      }
      case "flush":
        if (step.wait) await exporter.flush();
        else flushes.push(exporter.flush());
        break;
      case "wait":
        await sleep(step.ms);
        break;
      case "turn":
        await nextTurn();
        break;
    }
    model.checkBalanced(`after ${step.op}`);
  }
  const closing = exporter.close();
  const late = makeRecord();
  model.exported.push(late);
  exporter.export(late);
  model.checkBalanced("after export during close");
  await closing;
  await Promise.all(flushes);
  await nextTurn();
  model.checkBalanced("after close");

  const stats = exporter.stats();
  model.check(stats.pending === 0, `pending ${stats.pending} after close()`);
  model.check(
    model.reported.get(late) === "closed",
    "a record exported after close() was not dropped as closed",
  );

  // Every record has exactly one fate.
  const unnamed = new Set<AuditRecord>();
  for (const partial of model.unnamedPartials) {
    model.check(partial.reported, "an unnamed partial refusal never reached onError");
    for (const record of partial.records) unnamed.add(record);
  }
  for (const original of model.exported) {
    const record = resolveRecord(original, model);
    const fates = [
      model.accepted.has(record),
      model.reported.has(record),
      unnamed.has(record),
    ].filter(Boolean);
    model.check(fates.length === 1, `record ${record.eventId} has ${fates.length} fates`);
  }
  const reasons = [...model.reported.values()];
  const rejectedUnnamed = model.unnamedPartials.reduce((sum, p) => sum + p.rejected, 0);
  model.check(stats.received === model.exported.length, "received differs from the exports");
  model.check(
    stats.dropped === reasons.filter((r) => DROP_REASONS.has(r)).length,
    `dropped ${stats.dropped} differs from the drops reported`,
  );
  model.check(
    stats.failed === reasons.filter((r) => !DROP_REASONS.has(r)).length + rejectedUnnamed,
    `failed ${stats.failed} differs from the failures reported`,
  );
  model.check(
    stats.delivered === model.accepted.size + unnamed.size - rejectedUnnamed,
    `delivered ${stats.delivered} differs from what the backend accepted`,
  );
  model.check(model.active === 0, `${model.active} attempts still in flight after close()`);
  model.throwIfFailed();
  trackByEventId.clear();
}

// exportDict() makes a new AuditRecord from the dict: find it by event id
// among the records the backend or onError saw.
const trackByEventId = new Map<string, AuditRecord>();
function resolveRecord(record: AuditRecord, model: Model): AuditRecord {
  if (!trackByEventId.has(record.eventId)) return record;
  for (const seen of [
    ...model.accepted,
    ...model.reported.keys(),
    ...model.unnamedPartials.flatMap((p) => [...p.records]),
  ]) {
    if (seen.eventId === record.eventId) return seen;
  }
  return record;
}

describe("BufferedExporter under a randomized fault schedule", () => {
  it("keeps received === delivered + failed + dropped + pending at every step, and gives every record one fate", async () => {
    await fc.assert(
      fc.asyncProperty(
        configArb,
        fc.array(faultArb, { minLength: 1, maxLength: 12 }),
        fc.array(stepArb, { minLength: 1, maxLength: 30 }),
        (config, faults, steps) => runSchedule(config, faults, steps),
      ),
      { numRuns: 300, interruptAfterTimeLimit: 25_000 },
    );
  }, 60_000);

  it("survives a schedule of nothing but hangs and retryable failures", async () => {
    await runSchedule(
      {
        batchSize: 3,
        concurrency: 2,
        maxQueueSize: 10,
        overflow: "drop-oldest",
        maxAttempts: 3,
        timeoutMs: 4,
        flushIntervalMs: 1,
        encode: true,
        maxRecordBytes: undefined,
        reentrant: true,
      },
      [{ kind: "hang-ignore" }, { kind: "retryable", retryAfterMs: 2 }, { kind: "hang-abort" }],
      [
        { op: "export", count: 6, big: false },
        { op: "flush", wait: false },
        { op: "export", count: 6, big: false },
        { op: "wait", ms: 5 },
        { op: "export", count: 6, big: true },
      ],
    );
  });
});
