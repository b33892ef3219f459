import {
  type AuditRecord,
  type BatchExporter,
  type ConfigurationAlarm,
  type ExportBatchOptions,
  gzipBody,
  networkExportError,
  readTextUpTo,
  tlsConnectOptions,
} from "@a1/siem-core";
import { Agent, type Dispatcher } from "undici";
import { type ConfigurationProblem, problemOfStatus } from "./configuration-alarm.js";
import { type AnswerContext, answerError } from "./datadog-answer.js";
import { type DatadogEntryEncoder, dateEnd } from "./datadog-entry.js";
import { MAX_ENTRY_BYTES, STAMP_FUTURE_LIMIT_MS, STAMP_PAST_LIMIT_MS } from "./datadog-limits.js";
import { type DatadogHealth, judgeHealth, type ValidateOutcome } from "./health-check.js";
import type { ResolvedTransport } from "./resolve-datadog-options.js";

/** Most bytes of an error answer read for the message. */
const ERROR_BODY_LIMIT = 4096;

/**
 * One attempt to deliver one batch to the logs intake: the entries as a JSON
 * array, gzipped by default, POSTed with undici. It classifies the answer
 * (see `answerError`) and never retries by itself: the engine does.
 *
 * The API key lives in a private field and only ever travels in the
 * `DD-API-KEY` header.
 */
export class DatadogBatchExporter implements BatchExporter {
  /** The comma between entries (the brackets are within the 1-byte headroom of the limit). */
  readonly bytesPerRecordOverhead = 1;
  /** An entry of `MAX_ENTRY_BYTES` plus its comma. */
  readonly maxRecordBytes = MAX_ENTRY_BYTES + 1;

  readonly #encoder: DatadogEntryEncoder;
  readonly #transport: ResolvedTransport;
  readonly #headers: Record<string, string>;
  readonly #validateHeaders: Record<string, string>;
  readonly #context: AnswerContext;
  readonly #alarm: ConfigurationAlarm<ConfigurationProblem>;
  #dispatcher: Dispatcher | undefined;
  #closed = false;
  #stampedAtSend = 0;

  constructor(
    encoder: DatadogEntryEncoder,
    transport: ResolvedTransport,
    apiKey: string,
    alarm: ConfigurationAlarm<ConfigurationProblem>,
  ) {
    this.#encoder = encoder;
    this.#alarm = alarm;
    this.#transport = transport;
    this.#headers = {
      "dd-api-key": apiKey,
      "content-type": "application/json",
      "user-agent": transport.userAgent,
      ...(transport.compression === "gzip" ? { "content-encoding": "gzip" } : {}),
    };
    this.#validateHeaders = {
      "dd-api-key": apiKey,
      accept: "application/json",
      "user-agent": transport.userAgent,
    };
    this.#context = { target: transport.target, secrets: [apiKey] };
    this.#dispatcher = transport.dispatcher;
  }

  /** Records delivered without their date attribute because their time was outside Datadog's window. */
  get stampedAtSend(): number {
    return this.#stampedAtSend;
  }

  encode(record: AuditRecord): string {
    return this.#encoder.encode(record);
  }

  async exportBatch(records: readonly AuditRecord[], options: ExportBatchOptions): Promise<void> {
    const { signal } = options;
    const entries = options.encoded ?? records.map((record) => this.#encoder.encode(record));
    // The date window is checked at each attempt, not when the batch was
    // cut: a batch retried through a long outage can age past it.
    const built = buildBody(records, entries, Date.now());
    const body = await this.#compress(built.body);
    let response: Dispatcher.ResponseData;
    try {
      response = await this.#getDispatcher().request({
        origin: this.#transport.origin,
        path: this.#transport.path,
        method: "POST",
        headers: this.#headers,
        body,
        signal,
      });
    } catch (error) {
      const failure = networkExportError(error, signal);
      // Only a TLS failure is permanent among network errors: no retry fixes a certificate.
      if (!failure.retryable) this.#alarm.raise("tls", `Datadog ${failure.message}`);
      throw failure;
    }
    const { statusCode } = response;
    if (statusCode >= 200 && statusCode < 300) {
      // Accepted: the answer's body says nothing more.
      await response.body.dump().catch(() => {});
      this.#stampedAtSend += built.stamped;
      return;
    }
    const text = await readTextUpTo(response.body, ERROR_BODY_LIMIT).catch(() => "");
    const failure = answerError(statusCode, response.headers, text, this.#context);
    const problem = problemOfStatus(statusCode);
    if (problem !== undefined) this.#alarm.raise(problem, failure.message);
    throw failure;
  }

  /** One `GET /api/v1/validate` with the key, judged (see `judgeHealth`). Never throws. */
  async checkHealth(signal: AbortSignal, target: string): Promise<DatadogHealth> {
    return judgeHealth(await this.#validateKey(signal), target, this.#context.secrets);
  }

  async #validateKey(signal: AbortSignal): Promise<ValidateOutcome> {
    try {
      const response = await this.#getDispatcher().request({
        origin: this.#transport.validateOrigin,
        path: this.#transport.validatePath,
        method: "GET",
        headers: this.#validateHeaders,
        signal,
      });
      const body = await readTextUpTo(response.body, ERROR_BODY_LIMIT).catch(() => "");
      return { status: response.statusCode, body };
    } catch (error) {
      return { error, signal };
    }
  }

  #compress(body: Buffer): Promise<Buffer> | Buffer {
    const { compression, gzipLevel } = this.#transport;
    if (compression === "none") return body;
    return gzipBody(body, gzipLevel);
  }

  async close(): Promise<void> {
    this.#closed = true;
    // A dispatcher the user passed is theirs to close.
    if (this.#transport.dispatcher === undefined && this.#dispatcher !== undefined) {
      const dispatcher = this.#dispatcher;
      this.#dispatcher = undefined;
      await dispatcher.close();
    }
  }

  /** Created at the first request, so that a constructor that throws leaves nothing open. */
  #getDispatcher(): Dispatcher {
    // After close(), nothing may open a socket that nobody would close.
    if (this.#closed && this.#transport.dispatcher === undefined) {
      throw new Error("the exporter is closed");
    }
    this.#dispatcher ??= new Agent(
      this.#transport.tls === undefined ? {} : { connect: tlsConnectOptions(this.#transport.tls) },
    );
    return this.#dispatcher;
  }
}

/**
 * The request body, `[e1,e2,…]`, as UTF-8 bytes. An entry whose record's time
 * is outside Datadog's window at `now` goes without its date attribute, so
 * that Datadog stamps it on receipt (its own time stays in `timestamp_unix`
 * and `timestamp_iso`).
 *
 * The entries are written straight into one buffer of the exact size: no
 * joined string, no second copy when compressing or sending.
 */
export function buildBody(
  records: readonly AuditRecord[],
  entries: readonly string[],
  now: number,
): { body: Buffer; stamped: number } {
  // Record times are whole seconds: compare in seconds.
  const oldest = (now - STAMP_PAST_LIMIT_MS) / 1000;
  const newest = (now + STAMP_FUTURE_LIMIT_MS) / 1000;
  // Sized by characters, which is the byte count of an ASCII body (the usual
  // case) and a lower bound otherwise; grown when an entry might not fit.
  // Measuring every entry's UTF-8 length first would cost a pass over the body.
  let charsLeft = entries.length + 1;
  for (const entry of entries) charsLeft += entry.length;
  let body = Buffer.allocUnsafe(Math.max(2, charsLeft));
  let offset = 0;
  let stamped = 0;
  body[offset++] = 0x5b; // [
  for (let i = 0; i < entries.length; i++) {
    if (i > 0) body[offset++] = 0x2c; // ,
    let entry = entries[i]!;
    charsLeft -= entry.length + 1;
    const time = records[i]!.timestampUnix;
    if (time < oldest || time > newest) {
      // Without its date: `{`, then the entry after the date's comma (see `dateEnd`).
      body[offset++] = 0x7b; // {
      entry = entry.slice(dateEnd(entry) + 1);
      stamped++;
    }
    // A character takes at most 3 UTF-8 bytes: measure only when that might not fit.
    if (offset + entry.length * 3 + charsLeft > body.length) {
      const needed = offset + Buffer.byteLength(entry) + charsLeft;
      if (needed > body.length) {
        const grown = Buffer.allocUnsafe(Math.max(needed, Math.ceil(body.length * 1.5)));
        body.copy(grown, 0, 0, offset);
        body = grown;
      }
    }
    offset += body.write(entry, offset);
  }
  body[offset++] = 0x5d; // ]
  return { body: body.subarray(0, offset), stamped };
}
