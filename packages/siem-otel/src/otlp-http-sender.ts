import * as http from "node:http";
import * as https from "node:https";
import {
  type AuditRecord,
  type BatchExporter,
  type ExportBatchOptions,
  gzipBody,
  networkExportError,
  type PartialBatchResult,
} from "@a1/siem-core";
import { JsonLogsSerializer, ProtobufLogsSerializer } from "@opentelemetry/otlp-transformer";
import type { ReadableLogRecord } from "@opentelemetry/sdk-logs";
import { hrTimeNow } from "./log-record-mapping.js";
import { classifyAnswer, type OtlpAnswer } from "./otlp-answer.js";
import { toReadableLogRecord } from "./readable-log-record.js";
import type { OtlpHttpConfig } from "./resolve-config.js";
import { USER_AGENT } from "./scope.js";

/** Most bytes of a success body read (OTLP: responses stay under 4 MiB); the rest is drained. */
const MAX_SUCCESS_BODY = 4 * 1024 * 1024;
/** Most bytes of an error body read, as the Collector's otlphttp exporter does. */
const MAX_ERROR_BODY = 64 * 1024;

/**
 * The `BatchExporter` behind `OpenTelemetryExporter`: one attempt = one
 * OTLP/HTTP request carrying the whole batch.
 *
 * The LogRecords are the SDK's `ReadableLogRecord`s and the request body is
 * made by the SDK's own serializers (`ProtobufLogsSerializer` /
 * `JsonLogsSerializer` of `@opentelemetry/otlp-transformer`, the code
 * `OTLPLogExporter` runs). The request itself is sent here, with `node:http`,
 * not through `OTLPLogExporter`, because that exporter:
 * - retries 429/502/503/504 and network errors by itself, up to 5 times within
 *   one export call, invisibly, which would multiply the engine's retries and
 *   hide them from `stats().retries`; it has no option to turn that off;
 * - does not surface the status or the `Retry-After` of a retryable answer;
 * - only logs a partial success through `diag`, so rejected records could not
 *   be counted.
 */
export class OtlpHttpSender implements BatchExporter {
  readonly #url: URL;
  readonly #headers: Record<string, string>;
  readonly #secrets: string[];
  readonly #config: OtlpHttpConfig;
  readonly #agent: http.Agent;
  readonly #request: typeof http.request;
  /**
   * The body of a batch, kept while the engine may retry the same batch: a
   * retry resends the same bytes (same observed time) without serialising again.
   */
  readonly #bodies = new WeakMap<readonly AuditRecord[], Buffer | Uint8Array>();

  constructor(config: OtlpHttpConfig, concurrency: number) {
    this.#config = config;
    this.#url = config.url;
    const secure = config.url.protocol === "https:";
    // Header values, and any credentials in the URL, are blanked out of every
    // server text quoted in an error.
    this.#secrets = [
      ...Object.values(config.headers),
      ...[config.url.username, config.url.password].flatMap((part) => [part, safeDecode(part)]),
      ...[...config.url.searchParams.values()],
      // Node sends URL credentials as Basic authorization.
      config.url.username || config.url.password
        ? Buffer.from(
            `${safeDecode(config.url.username)}:${safeDecode(config.url.password)}`,
          ).toString("base64")
        : "",
    ].filter((secret) => secret !== "");
    this.#headers = {
      "user-agent": USER_AGENT,
      ...config.headers,
      // Set last: the user's headers may not change the framing.
      "content-type":
        config.protocol === "http/json" ? "application/json" : "application/x-protobuf",
      ...(config.compression === "gzip" ? { "content-encoding": "gzip" } : {}),
    };
    const agentOptions = { keepAlive: true, maxSockets: concurrency };
    if (secure) {
      const tls = config.tls ?? {};
      this.#agent = new https.Agent({
        ...agentOptions,
        ...(tls.ca === undefined ? {} : { ca: tls.ca as string | Buffer | (string | Buffer)[] }),
        ...(tls.cert === undefined ? {} : { cert: tls.cert }),
        ...(tls.key === undefined ? {} : { key: tls.key }),
        rejectUnauthorized: tls.rejectUnauthorized ?? true,
      });
      this.#request = https.request;
    } else {
      this.#agent = new http.Agent(agentOptions);
      this.#request = http.request;
    }
  }

  async exportBatch(
    records: readonly AuditRecord[],
    { signal }: ExportBatchOptions,
  ): Promise<void | PartialBatchResult> {
    let body = this.#bodies.get(records);
    if (body === undefined) {
      body = this.#serialize(records);
      if (this.#config.compression === "gzip") body = await gzipBody(body);
      this.#bodies.set(records, body);
    }
    let answer: OtlpAnswer;
    try {
      answer = await this.#post(body, signal);
    } catch (error) {
      throw networkExportError(error, signal);
    }
    return classifyAnswer(answer, records.length, this.#secrets);
  }

  /** One `ExportLogsServiceRequest` for the batch, made by the SDK's serializer. */
  #serialize(records: readonly AuditRecord[]): Uint8Array {
    const observed = hrTimeNow();
    const resource = this.#config.resource;
    const json = this.#config.protocol === "http/json";
    const logRecords: ReadableLogRecord[] = new Array(records.length);
    for (let i = 0; i < records.length; i++) {
      logRecords[i] = toReadableLogRecord(records[i]!, resource, observed, json);
    }
    const serializer = json ? JsonLogsSerializer : ProtobufLogsSerializer;
    const body = serializer.serializeRequest(logRecords);
    if (body === undefined) throw new Error("the OpenTelemetry serializer produced no request");
    return body;
  }

  #post(body: Uint8Array, signal: AbortSignal): Promise<OtlpAnswer> {
    return new Promise<OtlpAnswer>((resolve, reject) => {
      const request = this.#request(this.#url, {
        method: "POST",
        agent: this.#agent,
        headers: { ...this.#headers, "content-length": String(body.byteLength) },
        signal,
      });
      request.on("error", reject);
      request.on("response", (response) => {
        const status = response.statusCode ?? 0;
        const limit = status >= 200 && status < 300 ? MAX_SUCCESS_BODY : MAX_ERROR_BODY;
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          // Keep reading past the limit (discarding) so that the socket can be reused.
          if (size < limit)
            chunks.push(size + chunk.length > limit ? chunk.subarray(0, limit - size) : chunk);
          size += chunk.length;
        });
        let ended = false;
        response.on("error", reject);
        response.on("close", () => {
          if (!ended) reject(new Error("the connection closed before the answer was complete"));
        });
        response.on("end", () => {
          ended = true;
          const retryAfter = response.headers["retry-after"];
          resolve({
            status,
            statusText: response.statusMessage ?? "",
            contentType: (response.headers["content-type"] ?? "").toLowerCase(),
            retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
            body: Buffer.concat(chunks),
          });
        });
      });
      request.end(body);
    });
  }

  async close(): Promise<void> {
    this.#agent.destroy();
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
