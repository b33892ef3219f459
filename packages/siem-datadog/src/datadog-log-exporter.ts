import { BufferedExporter, type ConfigurationAlarm } from "@a1/siem-core";
import { type ConfigurationProblem, datadogConfigurationAlarm } from "./configuration-alarm.js";
import { DatadogBatchExporter } from "./datadog-batch-exporter.js";
import { DatadogEntryEncoder } from "./datadog-entry.js";
import { MAX_ENTRIES_PER_REQUEST, MAX_PAYLOAD_BYTES } from "./datadog-limits.js";
import type {
  DatadogExporterStats,
  DatadogLogExporterOptions,
} from "./datadog-log-exporter-options.js";
import type { DatadogSite } from "./datadog-sites.js";
import type { DatadogHealth } from "./health-check.js";
import { resolveDatadogOptions } from "./resolve-datadog-options.js";

/**
 * Ships audit records to Datadog Logs through the HTTP intake v2
 * (`POST https://http-intake.logs.<site>/api/v2/logs`), batched (up to 1,000
 * entries and 4.25 MB per request), gzipped, retried with backoff, every
 * record accounted for.
 *
 * `export()` only enqueues; serialising, compressing and sending happen off
 * the caller's path. Each record becomes one entry whose `timestamp` is the
 * authorization time, `status` is `info` for AUTHORIZED and `warn` otherwise,
 * `message` is the record's NDJSON line, and whose top level holds the
 * record's wire fields.
 *
 * @example
 * const exporter = new DatadogLogExporter({ site: "datadoghq.eu", tags: { env: "prod" } });
 * exporter.export(record); // DD_API_KEY from the environment
 * await exporter.close();
 *
 * @throws Error when there is no API key (neither `apiKey` nor `DD_API_KEY`).
 * @throws RangeError when the site is not a Datadog site; the message lists the valid ones.
 */
export class DatadogLogExporter extends BufferedExporter {
  readonly #batch: DatadogBatchExporter;
  readonly #alarm: ConfigurationAlarm<ConfigurationProblem>;
  readonly #healthTarget: string;
  readonly #timeoutMs: number;
  /** The Datadog site in force (from `site`, `DD_SITE` or the default). */
  readonly site: DatadogSite;
  /** Where entries are POSTed, e.g. `https://http-intake.logs.datadoghq.eu/api/v2/logs`. */
  readonly endpoint: string;

  constructor(options: DatadogLogExporterOptions = {}) {
    const resolved = resolveDatadogOptions(options);
    const alarm = datadogConfigurationAlarm();
    const batch = new DatadogBatchExporter(
      new DatadogEntryEncoder(resolved.entry),
      resolved.transport,
      resolved.apiKey,
      alarm,
    );
    super(batch, resolved.delivery, {
      maxBatchSize: MAX_ENTRIES_PER_REQUEST,
      // The body is the entries, one comma each, and the brackets: one byte more.
      maxBatchBytes: MAX_PAYLOAD_BYTES - 1,
    });
    this.#batch = batch;
    this.#alarm = alarm;
    this.#healthTarget = `${resolved.transport.validateOrigin}${resolved.transport.validatePath}`;
    this.#timeoutMs = this.deliveryOptions.timeoutMs;
    this.site = resolved.site;
    this.endpoint = `${resolved.transport.origin}${resolved.transport.path}`;
  }

  /**
   * Configuration errors met so far: `"api-key"` (Datadog answered 401 or
   * 403), `"tls"` (the certificate could not be verified), `"url"` (404, 405
   * or a redirect: `url` points at something that is not the intake). Each is
   * also announced once as a `DatadogConfigurationWarning` process warning.
   */
  get configurationProblems(): readonly ConfigurationProblem[] {
    return this.#alarm.problems;
  }

  /**
   * Asks Datadog whether it accepts the API key (`GET https://api.<site>/api/v1/validate`,
   * or `<url>/api/v1/validate` with `url`), within `timeoutMs`. Resolves with
   * what it found, in words; never throws, never retries, and sends no record.
   * Useful at startup: a refused key otherwise shows only when the first
   * batch is rejected.
   */
  async healthCheck(): Promise<DatadogHealth> {
    return this.#batch.checkHealth(AbortSignal.timeout(this.#timeoutMs), this.#healthTarget);
  }

  /** The engine's counters and `stampedAtSend` (records sent without their date: see the README). */
  override stats(): DatadogExporterStats {
    return { ...super.stats(), stampedAtSend: this.#batch.stampedAtSend };
  }
}
