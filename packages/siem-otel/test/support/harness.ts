import type { ExportError } from "@a1/siem-core";
import { OpenTelemetryExporter, type OpenTelemetryExporterOptions } from "../../src/index.js";
import type { OtlpTestServer } from "./otlp-server.js";

/** Small delays so that retries and batches happen fast in tests. */
export const FAST = {
  flushIntervalMs: 5,
  retry: { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 5 },
} as const;

/** An exporter aimed at `server` that keeps every onError report. */
export function exporterFor(
  server: OtlpTestServer,
  options: OpenTelemetryExporterOptions = {},
): { exporter: OpenTelemetryExporter; errors: ExportError[] } {
  const errors: ExportError[] = [];
  const exporter = new OpenTelemetryExporter({
    endpoint: server.endpoint,
    ...FAST,
    onError: (error) => errors.push(error),
    ...options,
  });
  return { exporter, errors };
}

/** The accounting invariant of every exporter (shared by every package's suite). */
export { isBalanced as balanced } from "@a1/siem-testing";
