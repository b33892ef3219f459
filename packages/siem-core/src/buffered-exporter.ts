import { AuditRecord, type AuditRecordDict } from "./audit-record.js";
import { backoffDelay, MAX_RETRY_AFTER_MS } from "./backoff.js";
import type { BackendLimits, DeliveryOptions, OverflowPolicy } from "./delivery-options.js";
import { DiskSpool, type SpoolRead } from "./disk-spool.js";
import { ErrorReporter } from "./error-reporter.js";
import { ExportError, type ExportFailureReason } from "./export-error.js";
import type {
  AuditExporter,
  BatchExporter,
  ExporterStats,
  PartialBatchResult,
} from "./exporter.js";
import { PlainExporterAdapter } from "./plain-exporter-adapter.js";
import { RecordQueue } from "./record-queue.js";
import { type ResolvedDeliveryOptions, resolveDeliveryOptions } from "./resolve-options.js";
import { resolveSpoolOptions } from "./spool-options.js";

/** A batch on its way: the records, their encoded form, and where it started in the stream. */
interface Batch {
  records: AuditRecord[];
  /** Sequence number of each record (its place in the spool, when there is one). */
  seqs: number[];
  encoded: string[] | undefined;
  /** Sequence number of the batch's earliest record: `flush()` waits until it is settled. */
  firstSeq: number;
}

/**
 * The delivery engine. Queues records in memory (bounded), cuts them into
 * batches by count, bytes and time, sends up to `concurrency` batches at once
 * through the downstream, retries with exponential backoff and full jitter,
 * splits a batch the backend finds too large, and accounts for every record:
 * `received === delivered + failed + dropped + pending` at every moment.
 *
 * `export()` only enqueues: no I/O, no serialisation, no allocation beyond a
 * timer per batch window.
 *
 * @example
 * const exporter = new BufferedExporter(new NdjsonFileExporter("audit.ndjson"), { batchSize: 100 });
 * exporter.export(record);
 * await exporter.close();
 */
export class BufferedExporter implements AuditExporter {
  readonly #destination: BatchExporter;
  readonly #plain: AuditExporter | undefined;
  readonly #options: ResolvedDeliveryOptions;
  readonly #reporter: ErrorReporter;
  readonly #queue: RecordQueue;
  readonly #inflight = new Set<Batch>();

  #received = 0;
  #delivered = 0;
  #failed = 0;
  #dropped = 0;
  #pending = 0;
  #retries = 0;
  #recovered = 0;
  #retained = 0;
  #spoolErrors = 0;

  /** The durable spool, when the `spool` option is set: the queue is then a window onto it. */
  readonly #spool: DiskSpool | undefined;
  /** Sequence number of the next record accepted without a spool. */
  #nextSeq = 0;
  /** Set by close() with a spool once the backend fails: what is left stays on disk for the next start. */
  #retainRest = false;
  #spoolFailing = false;
  /** Reads of the spool that failed in a row. */
  #readFailures = 0;
  /** Wakes batches sleeping in backoff (close with a spool does not wait for them). */
  readonly #sleepers = new Set<() => void>();
  /** Records with a seq below this are sent now, whatever the batch size (timer fired or flush asked). */
  #forceUntil = 0;
  #timer: NodeJS.Timeout | undefined;
  #pumpScheduled = false;
  #waiters: { target: number; resolve: () => void }[] = [];
  #keepAlive: NodeJS.Timeout | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Encoded form of the queue's head, kept when it did not fit in the previous batch. */
  #carried: { record: AuditRecord; encoded: string } | undefined;

  /**
   * @param downstream Where batches go: a backend's `BatchExporter`, or any
   *   `AuditExporter` (each record is passed to its `export()`).
   * @param options Batching, queue, retry and error options.
   * @param limits The backend's hard limits; options above them are clamped.
   */
  constructor(
    downstream: AuditExporter | BatchExporter,
    options: DeliveryOptions = {},
    limits: BackendLimits = {},
  ) {
    if (typeof (downstream as BatchExporter)?.exportBatch === "function") {
      this.#destination = downstream as BatchExporter;
    } else if (typeof (downstream as AuditExporter)?.export === "function") {
      this.#plain = downstream as AuditExporter;
      this.#destination = new PlainExporterAdapter(this.#plain);
    } else {
      throw new TypeError("BufferedExporter: downstream must have exportBatch() or export()");
    }
    this.#options = resolveDeliveryOptions(options, limits);
    this.#reporter = new ErrorReporter(new.target.name, options.onError);
    this.#queue = new RecordQueue(this.#options.maxQueueSize);
    if (options.spool !== undefined) {
      this.#spool = new DiskSpool(resolveSpoolOptions(options.spool), (error) => {
        this.#spoolErrors++;
        this.#reporter.report(
          new ExportError(
            `spool ${options.spool?.dir}: fsync failed (${(error as NodeJS.ErrnoException).code ?? String(error)}); records written since the last sync may not survive a power loss`,
            { reason: "rejected", cause: error },
          ),
        );
      });
      this.#startFromSpool(this.#spool);
    }
  }

  /** Counts what an earlier process left in the spool, reports what was corrupt, and sends it first. */
  #startFromSpool(spool: DiskSpool): void {
    const { recovered, corrupt, foreign } = spool.recovery;
    this.#recovered = recovered;
    this.#received += recovered;
    this.#pending += recovered;
    this.#nextSeq = spool.nextSeq;
    const problems = corrupt.map(
      (entry) =>
        `${entry.file}: ${entry.frames} corrupt frame(s)${entry.tornTail ? " and a torn tail" : ""} skipped`,
    );
    if (foreign.length > 0)
      problems.push(`files that are not the spool's left alone: ${foreign.join(", ")}`);
    if (problems.length > 0) {
      // Reported after the constructor returns, like every other report.
      queueMicrotask(() =>
        this.#reporter.report(
          new ExportError(`spool ${spool.dir}: ${problems.join("; ")}`, { reason: "rejected" }),
        ),
      );
    }
    if (recovered > 0) {
      this.#forceUntil = spool.nextSeq;
      this.#schedulePump();
    }
  }

  /**
   * Queues `record` for delivery: no I/O, no serialisation. A record that
   * cannot be queued (full queue, closed exporter) is counted as dropped and
   * reported through `onError`; nothing is thrown for delivery problems.
   *
   * @throws TypeError when `record` is not an `AuditRecord` (a programming error).
   */
  export(record: AuditRecord): void {
    if (!AuditRecord.isInstance(record)) {
      throw new TypeError("export() takes an AuditRecord; use exportDict() for a plain object");
    }
    this.#received++;
    if (this.#closed) {
      this.#drop("closed", record);
      return;
    }
    if (this.#spool !== undefined) {
      this.#exportSpooled(this.#spool, record);
      return;
    }
    if (this.#pending >= this.#options.maxQueueSize) {
      if (this.#options.overflow === "drop-oldest" && this.#queue.length > 0) {
        this.#carried = undefined;
        this.#drop("overflow", this.#queue.shift()!);
        this.#pending--;
      } else {
        this.#drop("overflow", record);
        return;
      }
    }
    this.#queue.push(record, this.#nextSeq++);
    this.#pending++;
    this.#afterEnqueue();
  }

  /** Arms the batch timer and starts a batch when one is full. */
  #afterEnqueue(): void {
    if (this.#timer === undefined) {
      this.#timer = setTimeout(this.#onTimer, this.#options.flushIntervalMs);
      this.#timer.unref();
    }
    if (
      this.#queue.length >= this.#options.batchSize &&
      this.#inflight.size < this.#options.concurrency
    ) {
      this.#schedulePump();
    }
  }

  /**
   * `AuditRecord.fromDict(dict)` then `export()`.
   *
   * @throws AuditRecordError when `dict` is malformed; nothing is counted or queued then.
   */
  exportDict(dict: AuditRecordDict): void {
    this.export(AuditRecord.fromDict(dict));
  }

  /**
   * With a spool: the record is appended to disk before export() returns,
   * and kept in memory too while nothing older waits on disk.
   */
  #exportSpooled(spool: DiskSpool, record: AuditRecord): void {
    let seq: number | "full";
    try {
      const frame = spool.frame(record);
      seq = spool.append(frame);
      // drop-oldest: the oldest records waiting in memory (older than any on
      // disk alone, and not in flight) make room, one at a time. Never a
      // read from disk here; with none waiting, the new record is dropped.
      while (seq === "full" && this.#options.overflow === "drop-oldest" && this.#queue.length > 0) {
        const oldestSeq = this.#queue.peekSeq();
        const oldest = this.#queue.shift()!;
        this.#carried = undefined;
        // Reported in the next microtask, like every drop inside export():
        // this record is not counted yet, so a report now would not balance.
        this.#drop("overflow", oldest);
        this.#pending--;
        spool.settle([oldestSeq]);
        seq = spool.append(frame);
      }
      if (this.#spoolFailing) {
        this.#spoolFailing = false;
        this.#reporter.report(
          new ExportError(`spool ${spool.dir}: writing works again`, { reason: "rejected" }),
        );
      }
    } catch (error) {
      // The disk failed (full, gone): keep the record in memory, where it is
      // as safe as without a spool, and say so once per failing stretch.
      this.#spoolErrors++;
      if (!this.#spoolFailing) {
        this.#spoolFailing = true;
        this.#reporter.report(
          new ExportError(
            `spool ${spool.dir}: write failed (${(error as NodeJS.ErrnoException).code ?? String(error)}); records are kept in memory only, not durable, until writing works again`,
            { reason: "rejected", cause: error },
          ),
        );
      }
      // Only while nothing waits on disk alone, so that the stream stays in
      // order; behind a backlog on a failing disk there is nowhere to go.
      if (spool.unread > 0 || this.#queue.length >= this.#options.maxQueueSize) {
        this.#drop("overflow", record);
        return;
      }
      // Between the last spooled record and the next: flush() waits for it,
      // and the spool, which never had it, ignores it when it settles.
      this.#queue.push(record, spool.nextSeq - 0.5);
      this.#pending++;
      this.#afterEnqueue();
      return;
    }
    if (seq === "full") {
      this.#drop("overflow", record);
      return;
    }
    this.#pending++;
    // In memory as well only when nothing older is still on disk alone:
    // the stream stays in order.
    if (spool.unread === 1 && this.#queue.length < this.#options.maxQueueSize) {
      spool.skipLastAppended();
      this.#queue.push(record, seq);
    }
    this.#afterEnqueue();
  }

  /** A snapshot of the counters: `received === delivered + failed + dropped + pending`. */
  stats(): ExporterStats {
    return {
      received: this.#received,
      delivered: this.#delivered,
      failed: this.#failed,
      dropped: this.#dropped,
      pending: this.#pending,
      retries: this.#retries,
      ...(this.#spool === undefined
        ? {}
        : {
            recovered: this.#recovered,
            retained: this.#retained,
            spooled: this.#spool.unread + this.#queue.length,
            spoolBytes: this.#spool.bytes,
            spoolErrors: this.#spoolErrors,
          }),
    };
  }

  /**
   * Resolves once every record accepted before the call is delivered or
   * reported through `onError` (later records are not waited for). Keeps the
   * process alive while pending. Never rejects.
   */
  flush(): Promise<void> {
    const target = this.#spool?.nextSeq ?? this.#nextSeq;
    const settled = this.#lowestUnsettled() >= target ? Promise.resolve() : this.#waitFor(target);
    return settled.then(() => this.#flushPlainDownstream());
  }

  /**
   * Stops accepting records (later ones are dropped as `"closed"`), flushes,
   * then closes the downstream once. Returns the same promise on every call;
   * never rejects. After it resolves, `stats().pending === 0`.
   */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#closed = true;
      if (this.#spool !== undefined) {
        // With a spool, close does not sit out backoffs: one more attempt
        // each, and what still fails stays on disk for the next start.
        for (const wake of this.#sleepers) wake();
      }
      this.#closing = this.flush().then(async () => {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        try {
          this.#spool?.close();
        } catch (error) {
          this.#reporter.report(
            new ExportError(`spool ${this.#spool!.dir}: closing failed`, {
              reason: "rejected",
              cause: error,
            }),
          );
        }
        try {
          await (this.#plain ?? this.#destination).close?.();
        } catch (error) {
          this.#reporter.report(new ExportError("closing the downstream failed", { cause: error }));
        }
      });
    }
    return this.#closing;
  }

  /** Counts and reports a record that leaves the pipeline before any attempt. */
  #drop(reason: ExportFailureReason, record: AuditRecord): void {
    this.#dropped++;
    this.#reporter.reportDropSoon(reason, record);
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#forceUntil = Math.max(this.#forceUntil, this.#spool?.nextSeq ?? this.#nextSeq);
    this.#pump();
  };

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /** Starts as many batches as `concurrency` allows from what is due. */
  #pump(): void {
    const { batchSize, concurrency } = this.#options;
    if (this.#retainRest) this.#retainQueued();
    this.#refillFromSpool();
    while (this.#inflight.size < concurrency && this.#queue.length > 0) {
      const spooled = this.#spool?.unread ?? 0;
      if (this.#queue.peekSeq() >= this.#forceUntil && this.#queue.length + spooled < batchSize)
        break;
      const batch = this.#cutBatch();
      if (batch.records.length > 0) void this.#deliver(batch);
      this.#refillFromSpool();
    }
    if (this.#queue.length > 0 && this.#timer === undefined && this.#inflight.size < concurrency) {
      this.#timer = setTimeout(this.#onTimer, this.#options.flushIntervalMs);
      this.#timer.unref();
    }
    this.#settleWaiters();
  }

  /** Reads records waiting on disk into the memory window, oldest first. */
  #refillFromSpool(): void {
    const spool = this.#spool;
    if (spool === undefined || spool.unread === 0 || this.#retainRest) return;
    const room = this.#options.maxQueueSize - this.#queue.length;
    if (room <= 0) return;
    let read: SpoolRead;
    try {
      read = spool.read(room);
      this.#readFailures = 0;
    } catch (error) {
      // A file gone or failing under the spool. Try again shortly (nothing
      // else would wake the pump); after a few failures give its records up,
      // reported, rather than hold flush() and close() for ever.
      this.#readFailures++;
      if (this.#readFailures < MAX_READ_FAILURES) {
        this.#reporter.report(
          new ExportError(`spool ${spool.dir}: reading failed; will try again`, {
            reason: "rejected",
            cause: error,
          }),
        );
        setTimeout(() => this.#pump(), READ_RETRY_MS).unref();
        return;
      }
      this.#readFailures = 0;
      this.#lose(spool.abandonSegment(), `reading failed ${MAX_READ_FAILURES} times`, error);
      this.#schedulePump();
      return;
    }
    for (let i = 0; i < read.records.length; i++) this.#queue.push(read.records[i]!, read.seqs[i]!);
    if (read.lost > 0) this.#lose(read.lost, "a segment file was cut or changed behind the spool");
  }

  /** Spooled records that cannot be read any more: counted failed and reported (without them: they are unreadable). */
  #lose(count: number, why: string, cause?: unknown): void {
    if (count <= 0) return;
    this.#pending -= count;
    this.#failed += count;
    this.#reporter.report(
      new ExportError(`spool ${this.#spool!.dir}: ${count} spooled record(s) lost: ${why}`, {
        reason: "rejected",
        rejectedCount: count,
        ...(cause === undefined ? {} : { cause }),
      }),
    );
  }

  /** close() with a spool met a failing backend: what has not been sent stays on disk. */
  #retainQueued(): void {
    const records: AuditRecord[] = [];
    const seqs: number[] = [];
    while (this.#queue.length > 0) {
      seqs.push(this.#queue.peekSeq());
      records.push(this.#queue.shift()!);
    }
    this.#carried = undefined;
    this.#retain(records, seqs);
  }

  /** Counts every record still unread on disk as retained, and moves the read cursor past them. */
  #retainUnread(spool: DiskSpool): void {
    const unread = spool.unread;
    spool.skipAllUnread();
    this.#pending -= unread;
    this.#retained += unread;
  }

  /**
   * Leaves records on disk for the next start. A record that only ever was
   * in memory (the disk failed when it came) is appended now if the disk
   * works again, and otherwise fails: it is counted retained only on disk.
   */
  #retain(records: AuditRecord[], seqs: number[]): void {
    const spool = this.#spool!;
    // What waits on disk unread stays there too: count it now, before any
    // append below adds to what is unread.
    this.#retainUnread(spool);
    const unsaved: AuditRecord[] = [];
    let cause: unknown;
    for (let i = 0; i < records.length; i++) {
      if (!Number.isInteger(seqs[i])) {
        try {
          if (spool.append(spool.frame(records[i]!)) === "full") {
            throw new Error("the spool is full");
          }
        } catch (error) {
          cause ??= error;
          unsaved.push(records[i]!);
          continue;
        } finally {
          spool.skipAllUnread();
        }
      }
      this.#pending--;
      this.#retained++;
    }
    this.#settle(
      unsaved,
      [],
      new ExportError(
        "closed with the backend failing, and the spool could not keep these records",
        {
          retryable: true,
          cause,
        },
      ),
      "retries-exhausted",
    );
  }

  /** Takes records from the head of the queue until the batch is full by count or bytes. */
  #cutBatch(): Batch {
    const { batchSize, maxBatchBytes } = this.#options;
    const encode = this.#destination.encode?.bind(this.#destination);
    const overhead = this.#destination.bytesPerRecordOverhead ?? 1;
    const maxRecordBytes = Math.min(
      this.#destination.maxRecordBytes ?? Number.POSITIVE_INFINITY,
      maxBatchBytes,
    );
    const batch: Batch = {
      records: [],
      seqs: [],
      encoded: encode ? [] : undefined,
      firstSeq: this.#queue.peekSeq(),
    };
    let bytes = 0;
    while (batch.records.length < batchSize && this.#queue.length > 0) {
      const record = this.#queue.peek()!;
      let encoded: string | undefined;
      if (encode) {
        if (this.#carried?.record === record) {
          encoded = this.#carried.encoded;
        } else {
          try {
            encoded = encode(record);
            // A backend bug here would otherwise throw from a timer callback
            // (Buffer.byteLength below) and take the process down.
            if (typeof encoded !== "string") {
              throw new TypeError(`encode() returned ${typeof encoded}, not a string`);
            }
          } catch (error) {
            const seq = this.#queue.peekSeq();
            this.#queue.shift();
            this.#settle(
              [record],
              [seq],
              new ExportError("the backend could not encode the record", { cause: error }),
            );
            continue;
          }
        }
      }
      const size = Buffer.byteLength(encoded ?? record.toNdjson()) + overhead;
      if (size > maxRecordBytes) {
        const seq = this.#queue.peekSeq();
        this.#queue.shift();
        this.#settle(
          [record],
          [seq],
          new ExportError(
            `record of ${size} bytes exceeds the backend's limit of ${maxRecordBytes} bytes`,
            {
              reason: "oversize",
            },
          ),
        );
        continue;
      }
      if (batch.records.length > 0 && bytes + size > maxBatchBytes) {
        if (encoded !== undefined) this.#carried = { record, encoded };
        break;
      }
      batch.seqs.push(this.#queue.peekSeq());
      this.#queue.shift();
      batch.records.push(record);
      batch.encoded?.push(encoded!);
      bytes += size;
    }
    return batch;
  }

  /** Sends one batch until it is delivered, rejected or out of attempts. */
  async #deliver(batch: Batch): Promise<void> {
    this.#inflight.add(batch);
    try {
      await this.#attemptAll(batch.records, batch.seqs, batch.encoded);
    } finally {
      this.#inflight.delete(batch);
      this.#pump();
    }
  }

  async #attemptAll(
    records: AuditRecord[],
    seqs: number[],
    encoded: string[] | undefined,
    resend = false,
  ): Promise<void> {
    const { maxAttempts } = this.#options.retry;
    let attempts = 0;
    let current = records;
    let currentSeqs = seqs;
    let currentEncoded = encoded;
    for (;;) {
      if (attempts > 0 || resend) this.#retries++;
      attempts++;
      let outcome: void | PartialBatchResult;
      try {
        outcome = await this.#attemptOnce(current, currentEncoded);
      } catch (thrown) {
        const error = ExportError.isInstance(thrown)
          ? thrown
          : new ExportError(
              `the backend failed: ${thrown instanceof Error ? thrown.message : String(thrown)}`,
              {
                cause: thrown,
              },
            );
        if (error.tooLarge) {
          await this.#split(current, currentSeqs, currentEncoded, error);
          return;
        }
        const named = namedSubset(error.records, current);
        if (named !== undefined) {
          // The backend named the bad records: fail those, send the rest again.
          // This made progress, so it does not use up an attempt.
          this.#settle(
            current.filter((_, i) => named.has(i)),
            currentSeqs.filter((_, i) => named.has(i)),
            error,
            // The backend refused these records; no retry was spent on them.
            error.reason === "retries-exhausted" ? "rejected" : error.reason,
          );
          currentEncoded = currentEncoded?.filter((_, i) => !named.has(i));
          currentSeqs = currentSeqs.filter((_, i) => !named.has(i));
          current = current.filter((_, i) => !named.has(i));
          attempts--;
          resend = true;
          continue;
        }
        if (!error.retryable) {
          this.#settle(
            current,
            currentSeqs,
            error,
            error.reason === "retries-exhausted" ? "rejected" : error.reason,
          );
          return;
        }
        if (this.#spool !== undefined && this.#closed) {
          // Closing with a spool: keep these and everything not yet sent on
          // disk for the next start instead of spending the retries now.
          this.#retain(current, currentSeqs);
          this.#retainRest = true;
          return;
        }
        if (attempts >= maxAttempts) {
          this.#settle(current, currentSeqs, error, "retries-exhausted");
          return;
        }
        await this.#sleep(Math.max(backoffDelay(attempts, this.#options.retry), retryAfter(error)));
        continue;
      }
      this.#settleDelivered(current, currentSeqs, outcome);
      return;
    }
  }

  /** One attempt, bounded by `timeoutMs` even if the backend ignores its signal. */
  #attemptOnce(
    records: AuditRecord[],
    encoded: string[] | undefined,
  ): Promise<void | PartialBatchResult> {
    const controller = new AbortController();
    return new Promise<void | PartialBatchResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new ExportError(`attempt timed out after ${this.#options.timeoutMs} ms`, {
          retryable: true,
        });
        controller.abort(error);
        reject(error);
      }, this.#options.timeoutMs);
      timer.unref();
      let attempt: Promise<void | PartialBatchResult>;
      try {
        // Promise.resolve: a backend written in plain JS may return nothing.
        attempt = Promise.resolve(
          this.#destination.exportBatch(
            records,
            encoded ? { signal: controller.signal, encoded } : { signal: controller.signal },
          ),
        );
      } catch (error) {
        attempt = Promise.reject(error);
      }
      attempt.then(resolve, reject).finally(() => clearTimeout(timer));
    });
  }

  /** A 413: deliver each half on its own; a single record the backend refuses as too large is oversize. */
  async #split(
    records: AuditRecord[],
    seqs: number[],
    encoded: string[] | undefined,
    error: ExportError,
  ): Promise<void> {
    if (records.length <= 1) {
      this.#settle(records, seqs, error, "oversize");
      return;
    }
    const middle = Math.ceil(records.length / 2);
    await this.#attemptAll(
      records.slice(0, middle),
      seqs.slice(0, middle),
      encoded?.slice(0, middle),
      true,
    );
    await this.#attemptAll(records.slice(middle), seqs.slice(middle), encoded?.slice(middle), true);
  }

  /** Sleeps in backoff; close() with a spool wakes the sleepers. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref();
      this.#sleepers.add(wake);
    });
  }

  #settleDelivered(
    records: AuditRecord[],
    seqs: number[],
    outcome: void | PartialBatchResult,
  ): void {
    // Anything but a PartialBatchResult with rejected > 0 is a full delivery: a
    // backend may resolve with whatever its HTTP client returned (a Response).
    const partial =
      typeof outcome === "object" && outcome !== null && typeof outcome.rejected === "number"
        ? outcome
        : undefined;
    this.#spool?.settle(seqs);
    if (partial === undefined || !(partial.rejected > 0)) {
      this.#delivered += records.length;
      this.#pending -= records.length;
      return;
    }
    const error = ExportError.isInstance(partial.error)
      ? partial.error
      : new ExportError(`the backend rejected ${partial.rejected} record(s)`, {
          cause: partial.error,
        });
    const named = namedSubset(error.records, records);
    if (named !== undefined) {
      this.#delivered += records.length - named.size;
      this.#pending -= records.length - named.size;
      // Already settled in the spool above; keep a dead letter of the refused.
      this.#settle(
        records.filter((_, i) => named.has(i)),
        [],
        error,
        "rejected",
      );
      return;
    }
    // The backend rejected some records without naming them: count them
    // failed, and show the whole batch to onError with the count.
    const rejected = Math.min(Math.ceil(partial.rejected), records.length);
    this.#delivered += records.length - rejected;
    this.#failed += rejected;
    this.#pending -= records.length;
    // Which records were refused is not known: the dead letter gets the batch.
    this.#keepDeadLetter(records);
    this.#reporter.report(
      new ExportError(`${rejected} of ${records.length} records were rejected: ${error.message}`, {
        reason: "rejected",
        records,
        rejectedCount: rejected,
        ...(error.status === undefined ? {} : { status: error.status }),
        cause: error,
      }),
    );
  }

  /**
   * Records leave the pipeline undelivered: count them and report them once.
   * The reason decides the counter, so that `stats()` and `onError` agree:
   * overflow, closed and oversize are drops, the rest failures.
   */
  #settle(
    records: AuditRecord[],
    seqs: number[],
    error: ExportError,
    reason: ExportFailureReason = error.reason,
  ): void {
    if (records.length === 0) return;
    if (DROP_REASONS.has(reason)) this.#dropped += records.length;
    else this.#failed += records.length;
    this.#pending -= records.length;
    if (reason !== "overflow" && reason !== "closed") this.#keepDeadLetter(records);
    this.#spool?.settle(seqs);
    this.#reporter.report(error.withRecords(records, reason));
  }

  /** With `spool.deadLetter`, records that failed for good are kept in the spool's dead-letter file. */
  #keepDeadLetter(records: AuditRecord[]): void {
    if (this.#spool === undefined || !this.#spool.keepsDeadLetters) return;
    try {
      this.#spool.deadLetter(records);
    } catch (error) {
      this.#reporter.report(
        new ExportError(`spool ${this.#spool.dir}: writing the dead letter failed`, {
          reason: "rejected",
          cause: error,
        }),
      );
    }
  }

  #lowestUnsettled(): number {
    let lowest = this.#queue.peekSeq();
    const spool = this.#spool;
    if (spool !== undefined && spool.unread > 0) lowest = Math.min(lowest, spool.readSeq);
    for (const batch of this.#inflight) lowest = Math.min(lowest, batch.firstSeq);
    return lowest;
  }

  #waitFor(target: number): Promise<void> {
    this.#forceUntil = Math.max(this.#forceUntil, target);
    const settled = new Promise<void>((resolve) => this.#waiters.push({ target, resolve }));
    // A pending flush keeps the process alive; an idle exporter does not.
    this.#keepAlive ??= setInterval(() => {}, 1 << 30);
    this.#pump();
    return settled;
  }

  #settleWaiters(): void {
    if (this.#waiters.length === 0) return;
    const lowest = this.#lowestUnsettled();
    this.#waiters = this.#waiters.filter((waiter) => {
      if (lowest < waiter.target) return true;
      waiter.resolve();
      return false;
    });
    if (this.#waiters.length === 0) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = undefined;
    }
  }

  async #flushPlainDownstream(): Promise<void> {
    // A downstream of the reference's shape may have export() only.
    if (typeof this.#plain?.flush !== "function") return;
    try {
      await this.#plain.flush();
    } catch (error) {
      this.#reporter.report(new ExportError("flushing the downstream failed", { cause: error }));
    }
  }

  /** The options in force after defaults and the backend's limits (for subclasses and diagnostics). */
  protected get deliveryOptions(): ResolvedDeliveryOptions {
    return this.#options;
  }

  /** The overflow policy in force. */
  get overflow(): OverflowPolicy {
    return this.#options.overflow;
  }
}

/** Reads of a failing spool file tried before its records are given up. */
const MAX_READ_FAILURES = 3;
const READ_RETRY_MS = 200;

const DROP_REASONS: ReadonlySet<ExportFailureReason> = new Set(["overflow", "closed", "oversize"]);

/** How long the backend asked to wait, within what a timer can do and the engine honours. */
function retryAfter(error: ExportError): number {
  const asked = error.retryAfterMs;
  return typeof asked === "number" && asked > 0 ? Math.min(asked, MAX_RETRY_AFTER_MS) : 0;
}

/** Positions in `batch` of the records `named`, when they are a non-empty strict subset of it. */
function namedSubset(
  named: readonly AuditRecord[],
  batch: readonly AuditRecord[],
): Set<number> | undefined {
  if (named.length === 0 || named.length >= batch.length) return undefined;
  const wanted = new Set(named);
  const positions = new Set<number>();
  batch.forEach((record, index) => {
    if (wanted.has(record)) positions.add(index);
  });
  return positions.size > 0 && positions.size < batch.length ? positions : undefined;
}
