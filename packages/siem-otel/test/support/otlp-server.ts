// An OTLP/HTTP logs receiver on 127.0.0.1 for tests and the benchmark. It
// decodes what arrives (protobuf or JSON, gzip or not) and answers as a
// Collector would, or with the faults a test plans: any status with a
// google.rpc.Status body, Retry-After, partial success, a hang, a reset.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { gunzipSync } from "node:zlib";
import {
  countJsonLogRecords,
  countProtobufLogRecords,
  type DecodedLogRecord,
  decodeLogsRequest,
} from "./otlp-decode.js";
import { ExportLogsServiceResponse, RpcStatus } from "./otlp-proto.js";

/** How the server answers one request. */
export interface PlannedAnswer {
  /** HTTP status. @default 200 */
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** A 2xx with `partial_success` (rejected count and message). */
  readonly partialSuccess?: { readonly rejected: number; readonly message?: string };
  /** The `message` of the google.rpc.Status body of a failure. */
  readonly message?: string;
  /** A raw body instead of the encoded response. */
  readonly rawBody?: string;
  /** Never answer (the client must time out). */
  readonly hang?: boolean;
  /** Destroy the connection after reading the request. */
  readonly reset?: boolean;
  /** Wait this long before answering. */
  readonly delayMs?: number;
}

/** One request as the server saw it. */
export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly contentType: string;
  /** Body size on the wire (compressed when gzip). */
  readonly wireBytes: number;
  /** Decoded LogRecords (empty in count-only mode). */
  readonly records: DecodedLogRecord[];
  readonly recordCount: number;
  /** The CN of the client certificate (mutual TLS), when there was one. */
  readonly clientCertificate: string | undefined;
  /** What the server answered: a status, "hang" or "reset". */
  readonly answer: number | "hang" | "reset";
  /** For a partial success, how many of `records` the server said it rejected. */
  readonly rejected: number;
}

export interface OtlpTestServerOptions {
  /** Delay every answer (the benchmark's slow receiver). */
  readonly delayMs?: number;
  /** Count LogRecords without decoding them nor keeping requests (benchmark). */
  readonly countOnly?: boolean;
  /** Serve HTTPS with this key and certificate; `clientCa` requires a client certificate it signed. */
  readonly tls?: { readonly key: Buffer; readonly cert: Buffer; readonly clientCa?: Buffer };
}

export class OtlpTestServer {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #planned: PlannedAnswer[] = [];
  readonly #options: OtlpTestServerOptions;
  #fallback: PlannedAnswer = {};
  #waiters: { count: number; resolve: () => void }[] = [];
  #port = 0;

  /** Every request, in arrival order (not kept in count-only mode). */
  readonly requests: ReceivedRequest[] = [];
  /** LogRecords of requests answered 2xx, in arrival order. */
  readonly accepted: DecodedLogRecord[] = [];
  /** Totals, also in count-only mode. */
  readonly totals = { requests: 0, acceptedRecords: 0, receivedRecords: 0, wireBytes: 0 };

  private constructor(server: Server, options: OtlpTestServerOptions) {
    this.#server = server;
    this.#options = options;
  }

  /** Starts a server on 127.0.0.1, on a free port. */
  static async start(options: OtlpTestServerOptions = {}): Promise<OtlpTestServer> {
    const tls = options.tls;
    const server: Server = tls
      ? createTlsServer({
          key: tls.key,
          cert: tls.cert,
          ...(tls.clientCa
            ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true }
            : {}),
        })
      : createServer();
    const receiver = new OtlpTestServer(server, options);
    server.on("request", (request, response) => void receiver.#handle(request, response));
    server.on("connection", (socket: Socket) => {
      receiver.#sockets.add(socket);
      socket.on("close", () => receiver.#sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    receiver.#port = (server.address() as AddressInfo).port;
    return receiver;
  }

  /** `http(s)://127.0.0.1:<port>`: the exporter's `endpoint`. */
  get endpoint(): string {
    return `${this.#options.tls ? "https" : "http"}://127.0.0.1:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  /** Answers the next requests with these, in order, then with the fallback. */
  plan(...answers: PlannedAnswer[]): void {
    this.#planned.push(...answers);
  }

  /** Forgets the planned answers not used yet. */
  clearPlan(): void {
    this.#planned.length = 0;
  }

  /** The answer once the planned ones are used up (default: 200). */
  answerAlways(answer: PlannedAnswer): void {
    this.#fallback = answer;
  }

  /** Resolves once `count` LogRecords have been accepted in all. */
  waitForAccepted(count: number): Promise<void> {
    if (this.totals.acceptedRecords >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const wire = Buffer.concat(chunks);

    if (request.method === "GET" && request.url === "/stats") {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify(this.totals));
      return;
    }

    const answer = this.#planned.shift() ?? this.#fallback;
    const contentType = String(request.headers["content-type"] ?? "");
    const body = request.headers["content-encoding"] === "gzip" ? gunzipSync(wire) : wire;
    let records: DecodedLogRecord[] = [];
    let recordCount: number;
    if (this.#options.countOnly) {
      recordCount = contentType.includes("protobuf")
        ? countProtobufLogRecords(body)
        : countJsonLogRecords(body);
    } else {
      records = decodeLogsRequest(body, contentType);
      recordCount = records.length;
    }

    const delayMs = answer.delayMs ?? this.#options.delayMs ?? 0;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));

    const status = answer.status ?? 200;
    const outcome: ReceivedRequest["answer"] = answer.hang
      ? "hang"
      : answer.reset
        ? "reset"
        : status;
    const ok = typeof outcome === "number" && outcome >= 200 && outcome < 300;
    const rejected = ok ? Math.min(answer.partialSuccess?.rejected ?? 0, recordCount) : 0;
    this.totals.requests++;
    this.totals.receivedRecords += recordCount;
    this.totals.wireBytes += wire.length;
    if (ok) {
      this.totals.acceptedRecords += recordCount - rejected;
      // A partial success does not say which ones were rejected: keep all.
      if (!this.#options.countOnly) this.accepted.push(...records);
    }
    if (!this.#options.countOnly) {
      this.requests.push({
        method: request.method ?? "",
        path: request.url ?? "",
        headers: { ...request.headers },
        contentType,
        wireBytes: wire.length,
        records,
        recordCount,
        clientCertificate: clientCertificateOf(request),
        answer: outcome,
        rejected,
      });
    }

    if (answer.hang) return;
    if (answer.reset) {
      request.socket.destroy();
      return;
    }
    const json = contentType.includes("json");
    let payload: Buffer;
    if (answer.rawBody !== undefined) {
      payload = Buffer.from(answer.rawBody);
    } else if (ok) {
      const partial = answer.partialSuccess
        ? {
            partialSuccess: {
              rejectedLogRecords: answer.partialSuccess.rejected,
              errorMessage: answer.partialSuccess.message ?? "",
            },
          }
        : {};
      payload = json
        ? Buffer.from(JSON.stringify(partial))
        : Buffer.from(
            ExportLogsServiceResponse.encode(
              ExportLogsServiceResponse.fromObject(partial),
            ).finish(),
          );
    } else {
      const rpc = { code: grpcCodeOf(status), message: answer.message ?? "" };
      payload = json
        ? Buffer.from(JSON.stringify(rpc))
        : Buffer.from(RpcStatus.encode(RpcStatus.fromObject(rpc)).finish());
    }
    response.writeHead(status, {
      "content-type":
        answer.rawBody !== undefined
          ? "text/plain"
          : json
            ? "application/json"
            : "application/x-protobuf",
      ...answer.headers,
    });
    response.end(payload);
    this.#settleWaiters();
  }

  #settleWaiters(): void {
    this.#waiters = this.#waiters.filter((waiter) => {
      if (this.totals.acceptedRecords < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  }
}

function clientCertificateOf(request: IncomingMessage): string | undefined {
  const socket = request.socket as Partial<TLSSocket>;
  if (typeof socket.getPeerCertificate !== "function") return undefined;
  const subject = socket.getPeerCertificate().subject as { CN?: string } | undefined;
  return subject?.CN;
}

/** The gRPC code an OTLP/HTTP receiver puts in google.rpc.Status for a status. */
function grpcCodeOf(status: number): number {
  switch (status) {
    case 400:
      return 3; // INVALID_ARGUMENT
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 429:
      return 8; // RESOURCE_EXHAUSTED
    case 503:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}
