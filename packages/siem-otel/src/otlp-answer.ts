import { ExportError, type PartialBatchResult, parseRetryAfter, redact } from "@a1/siem-core";
import { ProtobufLogsSerializer } from "@opentelemetry/otlp-transformer";

/** What an OTLP/HTTP receiver answered to one request. */
export interface OtlpAnswer {
  readonly status: number;
  readonly statusText: string;
  readonly contentType: string;
  readonly retryAfter: string | undefined;
  /** The start of the response body (see the sender's read limits). */
  readonly body: Buffer;
}

/** The statuses OTLP/HTTP allows a client to retry ("Retryable Response Codes"). */
const RETRYABLE = new Set([429, 502, 503, 504]);

/** Longest part of a server's error message quoted in an `ExportError`. */
const MAX_MESSAGE = 500;

/**
 * Turns an answer into the engine's terms: success (void), partial success
 * (the rejected count, never retried), or an `ExportError` that is retryable
 * only for 429, 502, 503 and 504 — with the `Retry-After` delay when the
 * server gave one — and `tooLarge` for 413 so that the engine splits the
 * batch. `secrets` (header values) are blanked out of any quoted server text.
 */
export function classifyAnswer(
  answer: OtlpAnswer,
  batchSize: number,
  secrets: readonly string[],
): void | PartialBatchResult {
  const { status } = answer;
  if (status >= 200 && status < 300) {
    const partial = readPartialSuccess(answer);
    if (partial === undefined || partial.rejected <= 0) return;
    const rejected = Math.min(partial.rejected, batchSize);
    const detail = partial.message ? `: ${quote(partial.message, secrets)}` : "";
    return {
      rejected,
      // The engine prefixes "<rejected> of <batch> records were rejected: ".
      error: new ExportError(`OTLP partial success${detail}`, {
        status,
        reason: "rejected",
        rejectedCount: rejected,
      }),
    };
  }
  const serverMessage = readStatusMessage(answer);
  const detail = serverMessage ? `: ${quote(serverMessage, secrets)}` : "";
  const what = `the OTLP receiver answered ${status}${answer.statusText ? ` ${answer.statusText}` : ""}${detail}`;
  if (status === 413) {
    throw new ExportError(what, { status, tooLarge: true });
  }
  if (RETRYABLE.has(status)) {
    const retryAfterMs = parseRetryAfter(answer.retryAfter);
    throw new ExportError(what, {
      status,
      retryable: true,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  // 400 (bad data), 401/403 (credentials), 404 (wrong path), 500, …: the
  // specification forbids retrying them.
  throw new ExportError(what, { status, retryable: false, reason: "rejected" });
}

function isJson(answer: OtlpAnswer): boolean {
  return answer.contentType.includes("json");
}

function isProtobuf(answer: OtlpAnswer): boolean {
  return answer.contentType.includes("protobuf");
}

/**
 * The `partial_success` of an `ExportLogsServiceResponse`, in the encoding
 * the server declared. A body that does not parse counts as full success,
 * as in the JS SDK: the receiver said 2xx.
 */
function readPartialSuccess(answer: OtlpAnswer): { rejected: number; message: string } | undefined {
  if (answer.body.length === 0) return undefined;
  try {
    if (isProtobuf(answer)) {
      const partial = ProtobufLogsSerializer.deserializeResponse(answer.body).partialSuccess;
      if (partial === undefined) return undefined;
      return { rejected: toCount(partial.rejectedLogRecords), message: partial.errorMessage ?? "" };
    }
    if (isJson(answer)) {
      const parsed = JSON.parse(answer.body.toString("utf8")) as Record<string, unknown>;
      // OTLP/JSON uses lowerCamelCase; receivers also accept the proto names.
      const partial = (parsed?.partialSuccess ?? parsed?.partial_success) as
        | Record<string, unknown>
        | undefined;
      if (partial === undefined || partial === null || typeof partial !== "object")
        return undefined;
      const message = partial.errorMessage ?? partial.error_message;
      return {
        rejected: toCount(partial.rejectedLogRecords ?? partial.rejected_log_records),
        message: typeof message === "string" ? message : "",
      };
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** int64 in OTLP/JSON may be a number or a decimal string. */
function toCount(value: unknown): number {
  const count = typeof value === "string" ? Number(value) : value;
  return typeof count === "number" && Number.isSafeInteger(count) && count > 0 ? count : 0;
}

/**
 * The `message` of the `google.rpc.Status` an OTLP receiver sends with a
 * failure, in its declared encoding, or the start of a plain-text body.
 */
function readStatusMessage(answer: OtlpAnswer): string {
  if (answer.body.length === 0) return "";
  try {
    if (isProtobuf(answer)) return readProtobufStatusMessage(answer.body);
    if (isJson(answer)) {
      const parsed = JSON.parse(answer.body.toString("utf8")) as { message?: unknown };
      return typeof parsed?.message === "string" ? parsed.message : "";
    }
  } catch {
    return "";
  }
  return answer.body.toString("utf8");
}

/**
 * Field 2 (`message`, string) of a `google.rpc.Status`; other fields
 * (`code` varint, `details` messages) are skipped. No schema library is
 * needed for one string field.
 */
function readProtobufStatusMessage(bytes: Buffer): string {
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (pos >= bytes.length) throw new RangeError("truncated varint");
      const byte = bytes[pos++]!;
      result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return result;
      shift += 7;
      if (shift > 63) throw new RangeError("varint too long");
    }
  };
  while (pos < bytes.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (wireType === 0) varint();
    else if (wireType === 1) pos += 8;
    else if (wireType === 5) pos += 4;
    else if (wireType === 2) {
      const length = varint();
      if (field === 2) return bytes.toString("utf8", pos, pos + length);
      pos += length;
    } else throw new RangeError(`unsupported wire type ${wireType}`);
  }
  return "";
}

/** A server's text, shortened, on one line, with every secret blanked out. */
function quote(text: string, secrets: readonly string[]): string {
  const flat = redact(text, secrets).replace(/\s+/g, " ").trim();
  return flat.length > MAX_MESSAGE ? `${flat.slice(0, MAX_MESSAGE)}…` : flat;
}
