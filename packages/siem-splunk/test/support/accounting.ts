import type { ExportError, ExporterStats } from "@a1/siem-core";
import { isBalanced } from "@a1/siem-testing";

/** Breaks of the accounting invariant seen anywhere (handlers cannot throw into the test). */
export class AccountingWatch {
  readonly problems: string[] = [];
  readonly errors: ExportError[] = [];
  #source: (() => ExporterStats) | undefined;

  /** Where to read the stats from (the exporter, once built). */
  watch(source: () => ExporterStats): void {
    this.#source = source;
  }

  /** Checks `received === delivered + failed + dropped + pending (+ retained, with a spool)` now. */
  check(where: string): void {
    if (!this.#source) return;
    const s = this.#source();
    if (!isBalanced(s)) this.problems.push(`${where}: ${JSON.stringify(s)}`);
  }

  /** An `onError` that records each error and checks the invariant. */
  readonly onError = (error: ExportError): void => {
    this.errors.push(error);
    this.check(`onError(${error.reason})`);
  };

  /** Records reported through onError, by reason. */
  reported(reason?: string): number {
    return this.errors
      .filter((error) => reason === undefined || error.reason === reason)
      .reduce((sum, error) => sum + error.records.length, 0);
  }
}
