import type {
  AuditRecord,
  BatchExporter,
  ExportBatchOptions,
  PartialBatchResult,
} from "../../src/index.js";

/** One call the engine made to `exportBatch`. */
export interface BatchCall {
  readonly index: number;
  readonly records: readonly AuditRecord[];
  readonly encoded: readonly string[] | undefined;
  readonly signal: AbortSignal;
  /** performance.now() when the call started. */
  readonly at: number;
}

/** What the backend does with one call: resolve, return a partial result, throw or hang. */
export type Answer = (
  call: BatchCall,
) => void | PartialBatchResult | Promise<void | PartialBatchResult>;

/**
 * An in-process `BatchExporter` whose every answer the test scripts: this is
 * the backend contract itself (one attempt per call), not a network stub.
 * Answers are taken from `script` in order, then `fallback`.
 */
export class ScriptedBackend implements BatchExporter {
  readonly calls: BatchCall[] = [];
  readonly script: Answer[];
  fallback: Answer;
  /** Attempts the engine still waits for (not settled and not aborted). */
  active = 0;
  maxActive = 0;
  closeCalls = 0;
  /** Records the backend accepted, in order. */
  readonly accepted: AuditRecord[] = [];
  /** Called at the start of every attempt (e.g. to check the accounting from inside the backend). */
  onCall: ((call: BatchCall) => void) | undefined;

  constructor(script: Answer[] = [], fallback: Answer = () => undefined) {
    this.script = [...script];
    this.fallback = fallback;
  }

  exportBatch(
    records: readonly AuditRecord[],
    options: ExportBatchOptions,
  ): Promise<void | PartialBatchResult> {
    const call: BatchCall = {
      index: this.calls.length,
      records: [...records],
      encoded: options.encoded ? [...options.encoded] : undefined,
      signal: options.signal,
      at: performance.now(),
    };
    this.calls.push(call);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    let ended = false;
    const end = () => {
      if (!ended) {
        ended = true;
        this.active--;
      }
    };
    // The engine gives up on an attempt by aborting its signal.
    options.signal.addEventListener("abort", end, { once: true });
    this.onCall?.(call);
    const answer = this.script.shift() ?? this.fallback;
    return (async () => {
      try {
        const result = await answer(call);
        if (!options.signal.aborted) {
          const rejected = new Set(
            result && Array.isArray(result.error?.records) ? result.error.records : [],
          );
          const unnamed = result && rejected.size === 0 ? result.rejected : 0;
          if (unnamed === 0) this.accepted.push(...call.records.filter((r) => !rejected.has(r)));
        }
        return result;
      } finally {
        end();
      }
    })();
  }

  async close(): Promise<void> {
    this.closeCalls++;
  }

  /** Sizes of the batches the engine sent, in order. */
  get sizes(): number[] {
    return this.calls.map((call) => call.records.length);
  }
}

/** A promise with its resolve and reject exposed. */
export function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Waits (polling each turn of the event loop) until `condition()` holds; fails after `limitMs`. */
export async function until(
  condition: () => boolean,
  what = "condition",
  limitMs = 10_000,
): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** One turn of the event loop (timers and I/O of this turn run first). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The accounting invariant of every exporter (shared by every package's suite). */
export { expectBalanced } from "@a1/siem-testing";
