import type { ConfigurationProblem } from "./classify-hec-answer.js";

/**
 * Announces a configuration error (refused token, wrong index, TLS, url)
 * once per exporter and problem, as a process warning, even when the user has
 * an `onError`: such an error refuses every batch until someone changes a
 * setting, so it must not drown among per-batch reports. The per-batch
 * `ExportError`s still reach `onError` with their records, as the accounting
 * contract requires.
 */
export class ConfigurationAlarm {
  readonly #raised = new Set<ConfigurationProblem>();
  readonly #source: string;

  constructor(source: string) {
    this.#source = source;
  }

  raise(problem: ConfigurationProblem, message: string): void {
    if (this.#raised.has(problem)) return;
    this.#raised.add(problem);
    process.emitWarning(`[${this.#source}] ${message}`, {
      type: "SplunkHecConfigurationWarning",
      code: "A1_SIEM_SPLUNK_CONFIG",
    });
  }
}
