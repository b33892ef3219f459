import {
  BufferedExporter,
  ConfigurationAlarm,
  type DeliveryOptions,
  type ExporterStats,
} from "@a1/siem-core";
import { AckTracker } from "./ack-tracker.js";
import type { ConfigurationProblem } from "./classify-hec-answer.js";
import { checkHecHealth, type SplunkHealth } from "./health-check.js";
import { HecBatchSender } from "./hec-batch-sender.js";
import { HecClient } from "./hec-client.js";
import { envelopeEncoder } from "./hec-envelope.js";
import {
  type ResolvedSplunkOptions,
  resolveSplunkOptions,
  SPLUNK_DEFAULTS,
  type SplunkHecExporterOptions,
} from "./splunk-hec-options.js";

/** `stats()` of `SplunkHecExporter`: the engine's counters and the ones only HEC has. */
export interface SplunkHecStats extends ExporterStats {
  /**
   * Records sent again after an attempt that ended without an answer once
   * the request had gone out (timeout, connection reset): Splunk may hold
   * each of them twice.
   */
  readonly resentUnanswered: number;
  /**
   * Records sent again because Splunk did not acknowledge them within
   * `ack.timeoutMs`, or because HEC refused a later event of the same request
   * (HEC does not say whether it indexed the ones before): Splunk may hold
   * each of them twice.
   */
  readonly resentUnacknowledged: number;
  /**
   * With `ack` on: records counted delivered on HEC's success answer because
   * HEC gave no `ackId` (the token has acknowledgement off).
   */
  readonly deliveredWithoutAck: number;
}

/**
 * Ships audit records to Splunk's HTTP Event Collector: batches of event
 * envelopes (`{time, host?, source, sourcetype, index?, event}` back to back)
 * POSTed to `url + "/services/collector/event"` with `Authorization: Splunk
 * <token>`. HEC's answer codes are read: busy and failing answers are
 * retried (honouring Retry-After), a refused event is rejected alone and the
 * rest of its batch sent again, token problems are announced once as a
 * configuration error. With `ack`, a record counts delivered only once
 * Splunk acknowledges indexing it.
 *
 * `export()` never blocks and never throws for delivery problems; every
 * record ends up delivered, or reported through `onError` as failed or dropped.
 *
 * @example
 * const exporter = new SplunkHecExporter({ url: "https://splunk.example.com:8088", index: "a1_audit" });
 * exporter.export(record); // token from SPLUNK_HEC_TOKEN
 * await exporter.close();
 */
export class SplunkHecExporter extends BufferedExporter {
  readonly #client: HecClient;
  readonly #sender: HecBatchSender;
  readonly #settings: ResolvedSplunkOptions;
  #closed = false;

  /**
   * @throws TypeError when `url` or the token is missing or malformed (the
   *   message says how to fix it and never shows the token), and RangeError
   *   for an out-of-range number.
   */
  constructor(options: SplunkHecExporterOptions) {
    const settings = resolveSplunkOptions(options);
    const alarm = new ConfigurationAlarm<ConfigurationProblem>({
      source: "SplunkHecExporter",
      type: "SplunkHecConfigurationWarning",
      code: "A1_SIEM_SPLUNK_CONFIG",
    });
    const client = new HecClient({
      origin: settings.origin,
      basePath: settings.basePath,
      token: settings.token,
      tls: settings.tls,
      dispatcher: settings.dispatcher,
      channel: settings.ack !== undefined,
    });
    const acks = settings.ack
      ? new AckTracker(
          client,
          { ...settings.ack, requestTimeoutMs: settings.requestTimeoutMs },
          alarm,
        )
      : undefined;
    const sender = new HecBatchSender(client, {
      encode: envelopeEncoder(settings),
      gzip: settings.compression === "gzip",
      acks,
      ackMaxResends: settings.ack?.maxResends ?? 0,
      requestTimeoutMs: settings.requestTimeoutMs,
      alarm,
    });
    super(sender, deliveryOptions(options, settings));
    this.#client = client;
    this.#sender = sender;
    this.#settings = settings;
  }

  /** The engine's counters plus `resentUnanswered`, `resentUnacknowledged` and `deliveredWithoutAck`. */
  override stats(): SplunkHecStats {
    return { ...super.stats(), ...this.#sender.counters };
  }

  /**
   * Delivers what is queued (waiting out retries and, with `ack`, the
   * acknowledgements: a batch waits for at most `ack.maxResends + 1`
   * acknowledgements that never come), then closes the exporter's own connections (an
   * injected `dispatcher` stays open). Idempotent; never rejects.
   */
  override close(): Promise<void> {
    const closing = super.close();
    void closing.then(() => {
      this.#closed = true;
    });
    return closing;
  }

  /**
   * Asks HEC whether it is reachable, healthy and takes the token (and, with
   * `ack`, allows acknowledgement). Resolves with what is wrong in words;
   * never throws. Use it at start-up or in a readiness probe: export() does
   * not need it.
   */
  healthCheck(): Promise<SplunkHealth> {
    return checkHecHealth(this.#client, {
      timeoutMs: this.#settings.requestTimeoutMs,
      ack: this.#settings.ack !== undefined,
      closed: this.#closed,
    }).catch((error: unknown) => ({
      healthy: false,
      problem: "unexpected" as const,
      message: this.#client.redact(`health check failed: ${String(error)}`),
    }));
  }
}

/**
 * The engine's options: every option that is not Splunk's own goes through
 * untouched (so engine options such as \`spool\` work as documented by core),
 * with Splunk's defaults, and never the token.
 */
function deliveryOptions(
  options: SplunkHecExporterOptions,
  settings: ResolvedSplunkOptions,
): DeliveryOptions {
  const {
    url: _url,
    token: _token,
    index: _index,
    source: _source,
    sourcetype: _sourcetype,
    host: _host,
    ack: _ack,
    compression: _compression,
    tls: _tls,
    dispatcher: _dispatcher,
    ...engine
  } = options;
  const ack = settings.ack;
  return {
    ...engine,
    batchSize: options.batchSize ?? SPLUNK_DEFAULTS.batchSize,
    maxBatchBytes: options.maxBatchBytes ?? SPLUNK_DEFAULTS.maxBatchBytes,
    ...(options.concurrency === undefined && ack
      ? { concurrency: SPLUNK_DEFAULTS.ackConcurrency }
      : {}),
    // With acknowledgement, one attempt is the request and the wait for its
    // ack; the request keeps its own limit inside (see HecBatchSender). The
    // ack deadline is checked at each poll, which may itself take a request's limit.
    timeoutMs: ack
      ? 2 * settings.requestTimeoutMs + ack.timeoutMs + ack.pollIntervalMs
      : settings.requestTimeoutMs,
  };
}
