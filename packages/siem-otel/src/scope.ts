import { createRequire } from "node:module";

// The package's own name and version, read from package.json at run time so
// that a release never ships a stale constant. The path is the same from
// src/ (tests) and dist/ (published): both sit beside package.json.
const manifest = createRequire(import.meta.url)("../package.json") as {
  name: string;
  version: string;
};

/** The InstrumentationScope of every LogRecord this package makes. */
export const INSTRUMENTATION_SCOPE = Object.freeze({
  name: manifest.name,
  version: manifest.version,
  schemaUrl: undefined,
});

/** Sent as `User-Agent`, so that a Collector's logs name the client. */
export const USER_AGENT = `${manifest.name.replace("@", "").replace("/", "-")}/${manifest.version} node/${process.versions.node}`;
