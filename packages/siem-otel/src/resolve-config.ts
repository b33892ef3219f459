import { readFileSync } from "node:fs";
import type { TlsOptions } from "@a1/siem-core";
import { defaultResource, type Resource, resourceFromAttributes } from "@opentelemetry/resources";
import type {
  ApplicationLoggerProvider,
  OpenTelemetryExporterOptions,
  OtlpHttpProtocol,
} from "./exporter-options.js";
import {
  appendLogsPath,
  type EnvWarning,
  isSendableHeaderName,
  isSendableHeaderValue,
  readOtelEnvironment,
} from "./otel-environment.js";

export const DEFAULT_ENDPOINT = "http://localhost:4318";
export const DEFAULT_SERVICE_NAME = "a1";
export const DEFAULT_PROTOCOL = "http/json";

/** Where and how the exporter sends, after options, environment and defaults. */
export interface OtlpHttpConfig {
  readonly mode: "otlp-http";
  readonly url: URL;
  /** Request headers from options and environment (credentials, typically). */
  readonly headers: Readonly<Record<string, string>>;
  readonly protocol: OtlpHttpProtocol;
  readonly compression: "gzip" | "none";
  readonly resource: Resource;
  readonly tls: TlsOptions | undefined;
  /** From `OTEL_EXPORTER_OTLP_(LOGS_)TIMEOUT` when the `timeoutMs` option is absent. */
  readonly timeoutMs: number | undefined;
}

export interface ProviderConfig {
  readonly mode: "provider";
  readonly provider: ApplicationLoggerProvider;
}

/** Options that describe the connection or the Resource: the provider's business in provider mode. */
const CONNECTION_OPTIONS = [
  "endpoint",
  "headers",
  "protocol",
  "compression",
  "tls",
  "serviceName",
  "resourceAttributes",
] as const;

/**
 * Merges options, the OpenTelemetry environment variables and the defaults
 * (options win). Throws a `TypeError` naming the option or variable at
 * fault, never its value: URLs and headers may carry credentials.
 */
export function resolveOtelConfig(
  options: OpenTelemetryExporterOptions,
  env: Readonly<Record<string, string | undefined>>,
  warn: EnvWarning,
): OtlpHttpConfig | ProviderConfig {
  if (options.loggerProvider !== undefined) {
    const provider = options.loggerProvider;
    if (typeof provider?.getLogger !== "function") {
      throw new TypeError("loggerProvider must be an OpenTelemetry LoggerProvider (getLogger())");
    }
    const conflicting = CONNECTION_OPTIONS.filter((name) => options[name] !== undefined);
    if (conflicting.length > 0) {
      throw new TypeError(
        `${conflicting.join(", ")} cannot be combined with loggerProvider: the provider's own exporters and Resource apply`,
      );
    }
    return { mode: "provider", provider };
  }

  const fromEnv = readOtelEnvironment(env, warn);

  let url: URL;
  if (options.endpoint !== undefined) {
    url = parseHttpUrl(
      typeof options.endpoint === "string" ? appendLogsPath(options.endpoint) : "",
      "the endpoint option",
    );
  } else if (fromEnv.url !== undefined) {
    url = parseHttpUrl(fromEnv.url, fromEnv.urlSource ?? "the environment");
  } else {
    url = new URL(appendLogsPath(DEFAULT_ENDPOINT));
  }

  // JSON by default, as the JS SDK's own OTLP/HTTP log exporter: its JSON
  // serializer costs less CPU per record than its protobuf one (see bench/).
  const protocol = options.protocol ?? fromEnv.protocol ?? DEFAULT_PROTOCOL;
  if (protocol !== "http/protobuf" && protocol !== "http/json") {
    throw new TypeError(
      `OTLP protocol ${JSON.stringify(protocol)} is not supported (from ${
        options.protocol !== undefined
          ? "the protocol option"
          : "OTEL_EXPORTER_OTLP_(LOGS_)PROTOCOL"
      }): use "http/protobuf" or "http/json" with an OTLP/HTTP endpoint (port 4318)`,
    );
  }

  const compression = options.compression ?? fromEnv.compression ?? "none";
  if (compression !== "gzip" && compression !== "none") {
    throw new TypeError(`compression must be "gzip" or "none", got ${JSON.stringify(compression)}`);
  }

  const headers = { ...fromEnv.headers, ...checkHeaders(options.headers) };

  const serviceName = options.serviceName ?? fromEnv.serviceName ?? DEFAULT_SERVICE_NAME;
  if (typeof serviceName !== "string" || serviceName === "") {
    throw new TypeError("serviceName must be a non-empty string");
  }
  const resource = defaultResource().merge(
    resourceFromAttributes({
      ...fromEnv.resourceAttributes,
      ...options.resourceAttributes,
      "service.name": serviceName,
    }),
  );

  return {
    mode: "otlp-http",
    url,
    headers,
    protocol,
    compression,
    resource,
    tls: resolveTls(options.tls, fromEnv),
    timeoutMs: fromEnv.timeoutMs,
  };
}

function parseHttpUrl(text: string, source: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError(`${source} is not a valid URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`${source} must be an http: or https: URL, got ${url.protocol}`);
  }
  return url;
}

function checkHeaders(
  headers: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  if (headers === undefined) return {};
  if (typeof headers !== "object" || headers === null) {
    throw new TypeError("headers must be an object of header names to string values");
  }
  const checked: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    // Checked here, as node:http will: a header it refuses would fail every
    // request locally and be retried as a network failure to no end.
    if (!isSendableHeaderName(name)) {
      throw new TypeError(
        `header name ${JSON.stringify(name)} is invalid: it must be an HTTP token (letters, digits, !#$%&'*+-.^_\`|~)`,
      );
    }
    if (typeof value !== "string" || !isSendableHeaderValue(value)) {
      throw new TypeError(
        `header ${name} must be a string of tab, space, visible ASCII or U+0080-U+00FF characters (no CR, LF, NUL, DEL or character above U+00FF)`,
      );
    }
    // Case-insensitive: overrides the environment's header of any spelling.
    checked[name.toLowerCase()] = value;
  }
  return checked;
}

/** The `tls` option, each absent field taken from the PEM files the environment names. */
function resolveTls(
  tls: TlsOptions | undefined,
  fromEnv: ReturnType<typeof readOtelEnvironment>,
): TlsOptions | undefined {
  const ca = tls?.ca ?? readPem(fromEnv.certificateFile, "OTEL_EXPORTER_OTLP_(LOGS_)CERTIFICATE");
  const cert =
    tls?.cert ??
    readPem(fromEnv.clientCertificateFile, "OTEL_EXPORTER_OTLP_(LOGS_)CLIENT_CERTIFICATE");
  const key = tls?.key ?? readPem(fromEnv.clientKeyFile, "OTEL_EXPORTER_OTLP_(LOGS_)CLIENT_KEY");
  if (ca === undefined && cert === undefined && key === undefined && tls === undefined) {
    return undefined;
  }
  return {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(tls?.rejectUnauthorized === undefined
      ? {}
      : { rejectUnauthorized: tls.rejectUnauthorized }),
  };
}

function readPem(path: string | undefined, variable: string): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new TypeError(`${variable}: cannot read the file it names (${String(code ?? error)})`);
  }
}
