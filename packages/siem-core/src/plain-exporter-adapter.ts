import type { AuditRecord } from "./audit-record.js";
import { ExportError } from "./export-error.js";
import type { AuditExporter, BatchExporter, PartialBatchResult } from "./exporter.js";

/**
 * Lets `BufferedExporter` drive an exporter of the reference's shape (one
 * `export()` per record): a record whose `export()` throws is failed as
 * rejected, the others count as delivered.
 */
export class PlainExporterAdapter implements BatchExporter {
  readonly #target: AuditExporter;

  constructor(target: AuditExporter) {
    this.#target = target;
  }

  async exportBatch(records: readonly AuditRecord[]): Promise<void | PartialBatchResult> {
    const refused: AuditRecord[] = [];
    let firstError: unknown;
    for (const record of records) {
      try {
        this.#target.export(record);
      } catch (error) {
        firstError ??= error;
        refused.push(record);
      }
    }
    if (refused.length === 0) return;
    const message = firstError instanceof Error ? firstError.message : String(firstError);
    const error = new ExportError(`downstream export() threw: ${message}`, {
      records: refused,
      cause: firstError,
    });
    if (refused.length === records.length) throw error;
    return { rejected: refused.length, error };
  }
}
