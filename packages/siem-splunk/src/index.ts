export type { SplunkHealth, SplunkHealthProblem } from "./health-check.js";
export { SplunkHecExporter, type SplunkHecStats } from "./splunk-hec-exporter.js";
export type { SplunkAckOptions, SplunkHecExporterOptions } from "./splunk-hec-options.js";
