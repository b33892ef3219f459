import type { ExporterStats, NetworkExporterOptions } from "@a1/siem-core";
import type { Dispatcher } from "undici";
import type { DatadogSite } from "./datadog-sites.js";

/**
 * Options of `DatadogLogExporter`: the Datadog ones below and every delivery
 * option of `@a1/siem-core` (`batchSize`, `maxBatchBytes`, `flushIntervalMs`,
 * `maxQueueSize`, `overflow`, `retry`, `concurrency`, `timeoutMs`,
 * `compression`, `tls`, `onError`).
 */
export interface DatadogLogExporterOptions extends NetworkExporterOptions {
  /** Datadog API key (not an application key). @default process.env.DD_API_KEY */
  readonly apiKey?: string;
  /**
   * The Datadog site of your account: `datadoghq.com` (US1),
   * `us3.datadoghq.com`, `us5.datadoghq.com`, `datadoghq.eu`,
   * `ap1.datadoghq.com`, `ap2.datadoghq.com`, `uk1.datadoghq.com`,
   * `ddog-gov.com` (US1-FED) or `us2.ddog-gov.com` (US2-FED).
   * @default process.env.DD_SITE, else "datadoghq.com"
   */
  readonly site?: DatadogSite | (string & {});
  /** The `service` of every entry. @default "a1" */
  readonly service?: string;
  /** The `ddsource` of every entry. @default "a1" */
  readonly source?: string;
  /**
   * The `ddtags` of every entry: `"env:prod,team:iam"`, `["env:prod", "team:iam"]`
   * or `{ env: "prod", team: "iam" }`. @default none
   */
  readonly tags?: string | readonly string[] | Readonly<Record<string, string>>;
  /** The `hostname` of every entry. @default os.hostname() */
  readonly hostname?: string;
  /**
   * Replaces `https://http-intake.logs.<site>` (a proxy, a relay, a test
   * server); `/api/v2/logs` is appended. @default none
   */
  readonly url?: string | URL;
  /**
   * zlib level of the gzip compression, 1 (fastest) to 9 (smallest). Level 1
   * costs about a quarter less CPU per record than zlib's usual 6 for about
   * 7 % more bytes on the wire (see the README's figures); Datadog bills logs
   * by their uncompressed size. @default 1
   */
  readonly gzipLevel?: number;
  /**
   * An undici dispatcher to send through (a `ProxyAgent`, an `Agent` with
   * your own settings). Not closed by the exporter. Exclusive with `tls`.
   * @default an undici Agent of the exporter's own
   */
  readonly dispatcher?: Dispatcher;
}

/** `stats()` of `DatadogLogExporter`: the engine's counters and one of Datadog's. */
export interface DatadogExporterStats extends ExporterStats {
  /**
   * Records delivered without their date attribute because, at the moment of
   * sending, their time was more than 17 h in the past or more than 1 h in
   * the future (Datadog accepts 18 h back and 2 h ahead). Datadog shows them
   * at the time it received them; their own time is in `timestamp_unix` and
   * `timestamp_iso`.
   */
  readonly stampedAtSend: number;
}
