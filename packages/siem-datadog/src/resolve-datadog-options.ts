import { createRequire } from "node:module";
import { hostname as osHostname } from "node:os";
import type { DeliveryOptions, TlsOptions } from "@a1/siem-core";
import type { Dispatcher } from "undici";
import type { EntryConstants } from "./datadog-entry.js";
import { DEFAULT_BATCH_BYTES, MAX_ENTRIES_PER_REQUEST } from "./datadog-limits.js";
import type { DatadogLogExporterOptions } from "./datadog-log-exporter-options.js";
import {
  type DatadogSite,
  DEFAULT_SITE,
  INTAKE_PATH,
  intakeOrigin,
  resolveSite,
} from "./datadog-sites.js";

/**
 * Level 1: audit entries repeat the record (in `message` and as attributes),
 * so even the fastest level shrinks them about fivefold; level 6 costs about
 * 40 % more CPU per record for about 7 % fewer bytes (README, Performance).
 */
const DEFAULT_GZIP_LEVEL = 1;

/** Where and how requests go. */
export interface ResolvedTransport {
  readonly origin: string;
  /** Path and query of the intake under `origin`. */
  readonly path: string;
  /** Where `healthCheck()` asks: `https://api.<site>`, or the `url`'s origin. */
  readonly validateOrigin: string;
  /** `/api/v1/validate`, under the `url`'s path prefix if any. */
  readonly validatePath: string;
  /** For messages: `site datadoghq.eu` or the `url`'s origin. */
  readonly target: string;
  readonly compression: "gzip" | "none";
  /** zlib level of the gzip compression. */
  readonly gzipLevel: number;
  readonly tls: TlsOptions | undefined;
  /** The user's dispatcher, if any. */
  readonly dispatcher: Dispatcher | undefined;
  readonly userAgent: string;
}

export interface ResolvedDatadogOptions {
  readonly apiKey: string;
  readonly site: DatadogSite;
  readonly entry: EntryConstants;
  readonly transport: ResolvedTransport;
  readonly delivery: DeliveryOptions;
}

const OWN_OPTIONS = new Set([
  "apiKey",
  "site",
  "service",
  "source",
  "tags",
  "hostname",
  "url",
  "compression",
  "gzipLevel",
  "tls",
  "dispatcher",
]);

/** Datadog's "Validate API key" endpoint, on the API host of the site. */
const VALIDATE_PATH = "/api/v1/validate";

const VERSION = (createRequire(import.meta.url)("../package.json") as { version: string }).version;
const USER_AGENT = `a1-siem-datadog/${VERSION} (node ${process.version})`;

/**
 * Checks the options, applies defaults and the `DD_API_KEY` / `DD_SITE`
 * fallbacks. Errors never contain the API key.
 */
export function resolveDatadogOptions(
  options: DatadogLogExporterOptions,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedDatadogOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("DatadogLogExporter: options must be an object");
  }
  const apiKey = resolveApiKey(options.apiKey, env.DD_API_KEY);
  const site =
    options.site !== undefined
      ? resolveSite(options.site, "site")
      : env.DD_SITE !== undefined && env.DD_SITE.trim() !== ""
        ? resolveSite(env.DD_SITE, "DD_SITE")
        : DEFAULT_SITE;
  const compression = options.compression ?? "gzip";
  if (compression !== "gzip" && compression !== "none") {
    throw new RangeError(
      `DatadogLogExporter: compression must be "gzip" or "none", got ${JSON.stringify(compression)}`,
    );
  }
  const gzipLevel = options.gzipLevel ?? DEFAULT_GZIP_LEVEL;
  if (
    gzipLevel !== undefined &&
    (typeof gzipLevel !== "number" ||
      !Number.isInteger(gzipLevel) ||
      gzipLevel < 1 ||
      gzipLevel > 9)
  ) {
    throw new RangeError(
      `DatadogLogExporter: gzipLevel must be an integer from 1 to 9, got ${String(gzipLevel)}`,
    );
  }
  const dispatcher = options.dispatcher;
  if (dispatcher !== undefined && typeof dispatcher?.request !== "function") {
    throw new TypeError("DatadogLogExporter: dispatcher must be an undici Dispatcher");
  }
  if (dispatcher !== undefined && options.tls !== undefined) {
    throw new TypeError(
      "DatadogLogExporter: pass either tls or dispatcher; configure TLS on your own dispatcher",
    );
  }
  const { origin, path, target, validateOrigin, validatePath } = resolveEndpoint(options.url, site);

  const delivery: Record<string, unknown> = {
    batchSize: MAX_ENTRIES_PER_REQUEST,
    maxBatchBytes: DEFAULT_BATCH_BYTES,
  };
  for (const [key, value] of Object.entries(options)) {
    if (!OWN_OPTIONS.has(key) && value !== undefined) delivery[key] = value;
  }

  return {
    apiKey,
    site,
    entry: {
      source: text("source", options.source, "a1"),
      service: text("service", options.service, "a1"),
      hostname: text("hostname", options.hostname, osHostname()),
      tags: resolveTags(options.tags),
    },
    transport: {
      origin,
      path,
      validateOrigin,
      validatePath,
      target,
      compression,
      gzipLevel,
      tls: options.tls,
      dispatcher,
      userAgent: USER_AGENT,
    },
    delivery: delivery as DeliveryOptions,
  };
}

function resolveApiKey(option: unknown, fromEnv: string | undefined): string {
  const key = option ?? (fromEnv === "" ? undefined : fromEnv);
  if (key === undefined || key === null || key === "") {
    throw new Error(
      "DatadogLogExporter: no Datadog API key: pass the apiKey option or set DD_API_KEY",
    );
  }
  // Checked here so that an invalid header value never reaches undici, whose
  // error would quote it.
  if (typeof key !== "string" || !/^[\x21-\x7e]+$/.test(key)) {
    throw new TypeError(
      `DatadogLogExporter: the API key from ${option === undefined ? "DD_API_KEY" : "apiKey"} ` +
        "must be a string of printable ASCII characters without spaces",
    );
  }
  return key;
}

function resolveEndpoint(
  url: string | URL | undefined,
  site: DatadogSite,
): { origin: string; path: string; target: string; validateOrigin: string; validatePath: string } {
  if (url === undefined) {
    return {
      origin: intakeOrigin(site),
      path: INTAKE_PATH,
      target: `site ${site}`,
      validateOrigin: `https://api.${site}`,
      validatePath: VALIDATE_PATH,
    };
  }
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    throw new TypeError("DatadogLogExporter: url is not a valid URL");
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new TypeError(`DatadogLogExporter: url must be http(s), got ${parsed.protocol}`);
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw new TypeError(
      "DatadogLogExporter: url must not carry credentials; the API key goes in apiKey",
    );
  }
  // `url` replaces `https://http-intake.logs.<site>`; a path prefix (a proxy's) is kept.
  const prefix = parsed.pathname.replace(/\/+$/, "");
  return {
    origin: parsed.origin,
    path: `${prefix}${INTAKE_PATH}${parsed.search}`,
    target: parsed.origin,
    validateOrigin: parsed.origin,
    validatePath: `${prefix}${VALIDATE_PATH}`,
  };
}

function text(name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || value === "") {
    throw new TypeError(`DatadogLogExporter: ${name} must be a non-empty string`);
  }
  return value;
}

/** `"env:prod,team:iam"` from a string, an array of `key:value` strings, or an object. */
function resolveTags(tags: DatadogLogExporterOptions["tags"]): string {
  if (tags === undefined) return "";
  if (typeof tags === "string") return tags.trim();
  if (Array.isArray(tags)) {
    for (const tag of tags) {
      if (typeof tag !== "string") throw new TypeError("DatadogLogExporter: tags must be strings");
    }
    return tags
      .map((tag) => tag.trim())
      .filter((tag) => tag !== "")
      .join(",");
  }
  if (typeof tags === "object" && tags !== null) {
    return Object.entries(tags)
      .map(([key, value]) => {
        if (typeof value !== "string") {
          throw new TypeError(`DatadogLogExporter: tag ${key} must have a string value`);
        }
        return `${key}:${value}`;
      })
      .join(",");
  }
  throw new TypeError("DatadogLogExporter: tags must be a string, an array or an object");
}
