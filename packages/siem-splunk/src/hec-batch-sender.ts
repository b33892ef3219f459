import {
  type AuditRecord,
  type BatchExporter,
  type ConfigurationAlarm,
  type ExportBatchOptions,
  ExportError,
  errorCode,
  gzipBody,
  networkExportError,
} from "@a1/siem-core";
import type { AckTracker } from "./ack-tracker.js";
import {
  type ConfigurationProblem,
  classifyHecAnswer,
  type Verdict,
} from "./classify-hec-answer.js";
import type { HecAnswer, HecClient } from "./hec-client.js";

/** Why a record's next send may put a second copy in Splunk. */
const Mark = {
  /** Its last attempt ended without an answer after the request went out: Splunk may have it. */
  Unanswered: 1,
  /**
   * Splunk may have it but never said so: its acknowledgement did not come, or
   * HEC refused a later event of the same request (HEC does not say that the
   * events before a refused one were indexed, so they are sent again).
   */
  Unacknowledged: 2,
} as const;
type Mark = (typeof Mark)[keyof typeof Mark];

/** What the sender remembers about a record between attempts. */
interface Memory {
  /** Set until the next send counts it as a possible duplicate. */
  mark: Mark | undefined;
  /** Attempts whose acknowledgement never came (bounded by `ack.maxResends`). */
  ackMisses: number;
}

/**
 * Network errors that happen before a byte of the request left: a resend
 * after them cannot duplicate anything.
 */
const NOT_SENT = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
  // undici refused the request's own headers (a character HTTP forbids):
  // nothing was written to the socket.
  "UND_ERR_INVALID_ARG",
  "ERR_INVALID_CHAR",
  "ERR_INVALID_HTTP_TOKEN",
]);

/** Counters the sender keeps besides the engine's. */
export interface HecSenderCounters {
  readonly resentUnanswered: number;
  readonly resentUnacknowledged: number;
  readonly deliveredWithoutAck: number;
}

export interface HecBatchSenderOptions {
  readonly encode: (record: AuditRecord) => string;
  readonly gzip: boolean;
  readonly acks: AckTracker | undefined;
  /** Resends of a batch whose acknowledgement never came, before its records fail (`ack.maxResends`). */
  readonly ackMaxResends: number;
  /** With acknowledgement the engine's timeout covers the wait for the ack, so the request keeps its own. */
  readonly requestTimeoutMs: number;
  readonly alarm: ConfigurationAlarm<ConfigurationProblem>;
}

/**
 * One attempt to deliver one batch to `/services/collector/event`: the
 * wire format (envelopes concatenated, no separators) and the reading of
 * HEC's answers. Retrying, batching and accounting are the engine's.
 */
export class HecBatchSender implements BatchExporter {
  /** HEC takes the envelopes back to back, with nothing between them. */
  readonly bytesPerRecordOverhead = 0;
  readonly #client: HecClient;
  readonly #encode: (record: AuditRecord) => string;
  readonly #gzip: boolean;
  readonly #acks: AckTracker | undefined;
  readonly #ackMaxResends: number;
  readonly #requestTimeoutMs: number;
  readonly #alarm: ConfigurationAlarm<ConfigurationProblem>;
  readonly #marks = new WeakMap<AuditRecord, Memory>();
  /** Records remembered: while 0, batches skip the lookups. */
  #markCount = 0;
  #resentUnanswered = 0;
  #resentUnacknowledged = 0;
  #deliveredWithoutAck = 0;

  constructor(client: HecClient, options: HecBatchSenderOptions) {
    this.#client = client;
    this.#encode = options.encode;
    this.#gzip = options.gzip;
    this.#acks = options.acks;
    this.#ackMaxResends = options.ackMaxResends;
    this.#requestTimeoutMs = options.requestTimeoutMs;
    this.#alarm = options.alarm;
  }

  get counters(): HecSenderCounters {
    return {
      resentUnanswered: this.#resentUnanswered,
      resentUnacknowledged: this.#resentUnacknowledged,
      deliveredWithoutAck: this.#deliveredWithoutAck,
    };
  }

  /** The record's HEC event envelope, as it travels. */
  encode(record: AuditRecord): string {
    return this.#encode(record);
  }

  async exportBatch(
    records: readonly AuditRecord[],
    { signal, encoded }: ExportBatchOptions,
  ): Promise<void> {
    if (this.#markCount > 0) this.#countResends(records);
    await this.#send(records, encoded, signal);
    // Delivered: nothing about these records matters any more.
    if (this.#markCount > 0) for (const record of records) this.#forget(record);
  }

  async close(): Promise<void> {
    this.#acks?.close();
    await this.#client.close();
  }

  async #send(
    sent: readonly AuditRecord[],
    bodies: readonly string[] | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    const text = bodies ? bodies.join("") : sent.map(this.#encode).join("");
    const body = this.#gzip ? await gzipBody(text) : text;
    const requestSignal = this.#acks
      ? AbortSignal.any([signal, AbortSignal.timeout(this.#requestTimeoutMs)])
      : signal;
    let answer: HecAnswer;
    try {
      answer = await this.#client.request("POST", "/services/collector/event", body, {
        gzip: this.#gzip,
        signal: requestSignal,
      });
    } catch (cause) {
      throw this.#unanswered(cause, requestSignal, sent);
    }
    const verdict = classifyHecAnswer(answer, this.#client.where);
    if (!verdict.ok) throw this.#refused(verdict, sent);
    if (this.#acks) await this.#awaitAck(this.#acks, answer, sent, signal);
  }

  /** Counts the records of this attempt that were marked as possibly in Splunk already. */
  #countResends(records: readonly AuditRecord[]): void {
    for (const record of records) {
      const memory = this.#marks.get(record);
      if (memory === undefined) continue;
      if (memory.mark === Mark.Unanswered) this.#resentUnanswered++;
      else if (memory.mark === Mark.Unacknowledged) this.#resentUnacknowledged++;
      memory.mark = undefined;
      // Missed acknowledgements are kept: they bound the resends.
      if (memory.ackMisses === 0) this.#forget(record);
    }
  }

  #memoryOf(record: AuditRecord): Memory {
    let memory = this.#marks.get(record);
    if (memory === undefined) {
      memory = { mark: undefined, ackMisses: 0 };
      this.#marks.set(record, memory);
      this.#markCount++;
    }
    return memory;
  }

  #mark(record: AuditRecord, mark: Mark): void {
    this.#memoryOf(record).mark = mark;
  }

  #forget(record: AuditRecord): void {
    if (this.#marks.delete(record)) this.#markCount--;
  }

  /** The request failed before an answer: retryable unless TLS; Splunk may have the records unless nothing was sent. */
  #unanswered(cause: unknown, signal: AbortSignal, sent: readonly AuditRecord[]): ExportError {
    const generic = networkExportError(cause, signal);
    const message = this.#client.redact(generic.message);
    const error =
      message === generic.message
        ? generic
        : new ExportError(message, { retryable: generic.retryable, cause });
    if (!error.retryable) {
      this.#alarm.raise("tls", `Splunk HEC configuration error: ${error.message}`);
      // Not retried: the engine fails these records, so forget them.
      if (this.#markCount > 0) for (const record of sent) this.#forget(record);
      return error;
    }
    const code = errorCode(cause);
    if (signal.aborted || !(code !== undefined && NOT_SENT.has(code))) {
      for (const record of sent) this.#mark(record, Mark.Unanswered);
    }
    return error;
  }

  /** HEC refused: the error tells the engine to retry, split, or fail which records. */
  #refused(verdict: Exclude<Verdict, { ok: true }>, sent: readonly AuditRecord[]): ExportError {
    const message = this.#client.redact(verdict.message);
    if (verdict.configuration) this.#alarm.raise(verdict.configuration, message);
    const base = {
      status: verdict.status,
      retryable: verdict.retryable,
      ...(verdict.retryAfterMs === undefined ? {} : { retryAfterMs: verdict.retryAfterMs }),
      ...(verdict.tooLarge ? { tooLarge: true } : {}),
    };
    if (verdict.retryable || verdict.tooLarge) return new ExportError(message, base);
    const n = verdict.invalidEventNumber;
    if (n !== undefined && Number.isInteger(n) && n >= 0 && n < sent.length) {
      // HEC stopped at event n. Whether it indexed the events before it is not
      // documented (reports differ), so they are sent again, at least once
      // rather than maybe never, and counted as possible duplicates; the ones
      // after it were never read.
      for (let i = 0; i < n; i++) this.#mark(sent[i]!, Mark.Unacknowledged);
      const refused = verdict.onlyThatEvent ? [sent[n]!] : sent.slice(n);
      for (const record of refused) this.#forget(record);
      return new ExportError(message, { ...base, reason: "rejected", records: refused });
    }
    if (this.#markCount > 0) for (const record of sent) this.#forget(record);
    return new ExportError(message, { ...base, reason: "rejected" });
  }

  async #awaitAck(
    acks: AckTracker,
    answer: HecAnswer,
    sent: readonly AuditRecord[],
    signal: AbortSignal,
  ): Promise<void> {
    const ackId = answer.json?.ackId;
    if (ackId === undefined) {
      this.#deliveredWithoutAck += sent.length;
      this.#alarm.raise(
        "ack",
        "Splunk HEC configuration error: ack is on but HEC answered without an ackId; turn on indexer acknowledgement for this token (Splunk Web > Settings > Data inputs > HTTP Event Collector > Edit). Until then records count as delivered on HEC's success answer (stats().deliveredWithoutAck)",
      );
      return;
    }
    try {
      await acks.wait(ackId, signal);
    } catch (error) {
      const missed: AuditRecord[] = [];
      for (const record of sent) {
        const memory = this.#memoryOf(record);
        memory.mark = Mark.Unacknowledged;
        if (++memory.ackMisses > this.#ackMaxResends) missed.push(record);
      }
      if (missed.length > 0) throw this.#neverAcknowledged(ackId, missed, sent, error);
      throw ExportError.isInstance(error)
        ? error
        : new ExportError("the attempt ended while waiting for Splunk's acknowledgement", {
            retryable: true,
            cause: error,
          });
    }
  }

  /**
   * Records sent `ack.maxResends` times again for want of an acknowledgement,
   * and still not acknowledged: they fail, so that close() does not wait
   * `retry.maxAttempts` ack timeouts on a Splunk that never acknowledges. The
   * reason is "rejected": core's engine reports every non-retryable error as
   * such (it maps "retries-exhausted" to "rejected"); the message says why.
   */
  #neverAcknowledged(
    ackId: number,
    missed: readonly AuditRecord[],
    sent: readonly AuditRecord[],
    cause: unknown,
  ): ExportError {
    for (const record of missed) this.#forget(record);
    const resends = this.#ackMaxResends;
    return new ExportError(
      `Splunk never acknowledged indexing the batch of ${sent.length} record(s) (last ackId ${ackId}): no acknowledgement came after ${resends} resend(s) (ack.maxResends), so ${missed.length} record(s) are given up; Splunk may or may not have indexed them`,
      {
        reason: "rejected",
        retryable: false,
        // A strict subset (records with fewer misses behind them) fails alone;
        // the engine sends the others again.
        ...(missed.length < sent.length ? { records: missed } : {}),
        cause,
      },
    );
  }
}
