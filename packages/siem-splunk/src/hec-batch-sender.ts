import {
  type AuditRecord,
  type BatchExporter,
  type ExportBatchOptions,
  ExportError,
  gzipBody,
  networkExportError,
} from "@a1/siem-core";
import type { AckTracker } from "./ack-tracker.js";
import { classifyHecAnswer, type Verdict } from "./classify-hec-answer.js";
import type { ConfigurationAlarm } from "./configuration-alarm.js";
import type { HecAnswer, HecClient } from "./hec-client.js";

/** What the sender remembers about a record between attempts. */
const Mark = {
  /** HEC accepted it before refusing a later event of the same request: never send it again. */
  Indexed: 1,
  /** Its last attempt ended without an answer after the request went out: Splunk may have it. */
  Unanswered: 2,
  /** HEC accepted it but never acknowledged indexing it: Splunk may have it. */
  Unacknowledged: 3,
} as const;
type Mark = (typeof Mark)[keyof typeof Mark];

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
  /** With acknowledgement the engine's timeout covers the wait for the ack, so the request keeps its own. */
  readonly requestTimeoutMs: number;
  readonly alarm: ConfigurationAlarm;
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
  readonly #requestTimeoutMs: number;
  readonly #alarm: ConfigurationAlarm;
  readonly #marks = new WeakMap<AuditRecord, Mark>();
  /** Marks set and not yet consumed: while 0, batches skip the lookups. */
  #markCount = 0;
  #resentUnanswered = 0;
  #resentUnacknowledged = 0;
  #deliveredWithoutAck = 0;

  constructor(client: HecClient, options: HecBatchSenderOptions) {
    this.#client = client;
    this.#encode = options.encode;
    this.#gzip = options.gzip;
    this.#acks = options.acks;
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
    let sent = records;
    let bodies = encoded;
    let skipped: readonly AuditRecord[] = [];
    if (this.#markCount > 0) ({ sent, bodies, skipped } = this.#sortOut(records, encoded));
    if (sent.length > 0) await this.#send(records, sent, bodies, signal);
    // Only now, with the attempt delivered, may the skipped records be forgotten:
    // a failed attempt is retried and must skip them again.
    for (const record of skipped) this.#unmark(record);
  }

  async close(): Promise<void> {
    this.#acks?.close();
    await this.#client.close();
  }

  async #send(
    records: readonly AuditRecord[],
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
    if (!verdict.ok) throw this.#refused(verdict, records, sent);
    if (this.#acks) await this.#awaitAck(this.#acks, answer, sent, signal);
  }

  /** Splits a batch into what to send and what HEC already has, and counts resends that may duplicate. */
  #sortOut(
    records: readonly AuditRecord[],
    encoded: readonly string[] | undefined,
  ): {
    sent: readonly AuditRecord[];
    bodies: readonly string[] | undefined;
    skipped: readonly AuditRecord[];
  } {
    const sent: AuditRecord[] = [];
    const bodies: string[] | undefined = encoded ? [] : undefined;
    const skipped: AuditRecord[] = [];
    records.forEach((record, index) => {
      const mark = this.#marks.get(record);
      if (mark === Mark.Indexed) {
        skipped.push(record);
        return;
      }
      if (mark === Mark.Unanswered) this.#resentUnanswered++;
      else if (mark === Mark.Unacknowledged) this.#resentUnacknowledged++;
      if (mark !== undefined) this.#unmark(record);
      sent.push(record);
      bodies?.push(encoded![index]!);
    });
    return skipped.length === 0
      ? { sent: records, bodies: encoded, skipped }
      : { sent, bodies, skipped };
  }

  #mark(record: AuditRecord, mark: Mark): void {
    if (!this.#marks.has(record)) this.#markCount++;
    this.#marks.set(record, mark);
  }

  #unmark(record: AuditRecord): void {
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
      return error;
    }
    const code = errorCode(cause);
    if (signal.aborted || !(code !== undefined && NOT_SENT.has(code))) {
      for (const record of sent) this.#mark(record, Mark.Unanswered);
    }
    return error;
  }

  /** HEC refused: the error tells the engine to retry, split, or fail which records. */
  #refused(
    verdict: Exclude<Verdict, { ok: true }>,
    records: readonly AuditRecord[],
    sent: readonly AuditRecord[],
  ): ExportError {
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
      // HEC reads a request in order and stops at the first bad event: the ones
      // before it are accepted (without acknowledgement, that is delivery), and
      // the ones after it were never read.
      for (let i = 0; i < n; i++) {
        this.#mark(sent[i]!, this.#acks ? Mark.Unacknowledged : Mark.Indexed);
      }
      const refused = verdict.onlyThatEvent ? [sent[n]!] : sent.slice(n);
      return new ExportError(message, { ...base, reason: "rejected", records: refused });
    }
    // Name the records sent when some of the batch were skipped (already
    // indexed): the engine fails the named ones and hands the others back.
    return new ExportError(message, {
      ...base,
      reason: "rejected",
      ...(sent.length < records.length ? { records: sent } : {}),
    });
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
      for (const record of sent) this.#mark(record, Mark.Unacknowledged);
      throw ExportError.isInstance(error)
        ? error
        : new ExportError("the attempt ended while waiting for Splunk's acknowledgement", {
            retryable: true,
            cause: error,
          });
    }
  }
}

function errorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && code !== "UND_ERR_SOCKET") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
