/** A setting that makes Datadog refuse every batch until someone changes it. */
export type ConfigurationProblem = "api-key" | "tls" | "url";

/**
 * Announces a configuration error (a refused API key, a TLS failure, a wrong
 * `url`) once per exporter and problem, as a process warning, even when the
 * user has an `onError`: such an error refuses every batch, so it must not
 * drown among the per-batch reports. The per-batch `ExportError`s still reach
 * `onError` with their records, as the accounting contract requires.
 */
export class ConfigurationAlarm {
  readonly #raised = new Set<ConfigurationProblem>();

  raise(problem: ConfigurationProblem, message: string): void {
    if (this.#raised.has(problem)) return;
    this.#raised.add(problem);
    process.emitWarning(`[DatadogLogExporter] ${message}`, {
      type: "DatadogConfigurationWarning",
      code: "A1_SIEM_DATADOG_CONFIG",
    });
  }

  /** The problems announced so far, in order. */
  get problems(): readonly ConfigurationProblem[] {
    return [...this.#raised];
  }
}

/** The setting an HTTP answer points at, if any. */
export function problemOfStatus(status: number): ConfigurationProblem | undefined {
  if (status === 401 || status === 403) return "api-key";
  if (status === 404 || status === 405 || (status >= 300 && status < 400)) return "url";
  return undefined;
}
