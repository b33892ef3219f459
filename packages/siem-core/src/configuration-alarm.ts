/** How a backend's configuration warnings are labelled. */
export interface ConfigurationAlarmOptions {
  /** Shown in brackets before each message, e.g. the exporter's class name. */
  readonly source: string;
  /** The warning's `name` (`type` of `process.emitWarning`). */
  readonly type: string;
  /** The warning's `code`. */
  readonly code: string;
}

/**
 * Announces a configuration error (a refused credential, a TLS failure, a
 * wrong url) once per exporter and problem, as a process warning, even when
 * the user has an `onError`: such an error refuses every batch until someone
 * changes a setting, so it must not drown among per-batch reports. The
 * per-batch `ExportError`s still reach `onError` with their records, as the
 * accounting contract requires. For backend authors.
 */
export class ConfigurationAlarm<Problem extends string = string> {
  readonly #raised = new Set<Problem>();
  readonly #options: ConfigurationAlarmOptions;

  constructor(options: ConfigurationAlarmOptions) {
    this.#options = options;
  }

  /** Warns about `problem` unless it was announced already. `message` must hold no secret. */
  raise(problem: Problem, message: string): void {
    if (this.#raised.has(problem)) return;
    this.#raised.add(problem);
    process.emitWarning(`[${this.#options.source}] ${message}`, {
      type: this.#options.type,
      code: this.#options.code,
    });
  }

  /** The problems announced so far, in order. */
  get problems(): readonly Problem[] {
    return [...this.#raised];
  }
}
