export {
  NdjsonFileExporter,
  type NdjsonFileExporterStats,
} from "./ndjson-file-exporter.js";
export type { NdjsonFileExporterOptions } from "./options.js";
