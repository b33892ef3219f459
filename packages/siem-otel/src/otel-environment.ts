import { validateHeaderName, validateHeaderValue } from "node:http";

/** The OTLP exporter settings the OpenTelemetry environment variables give (unset ones absent). */
export interface OtelEnvironment {
  /** The full URL to POST logs to, already resolved per the spec's rules. */
  readonly url?: string;
  /** Which variable `url` came from, for error messages (never its value). */
  readonly urlSource?: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  readonly compression?: "gzip" | "none";
  readonly protocol?: string;
  readonly serviceName?: string;
  readonly resourceAttributes: Readonly<Record<string, string>>;
  /** Paths of PEM files: trusted CA, client certificate, client key. */
  readonly certificateFile?: string;
  readonly clientCertificateFile?: string;
  readonly clientKeyFile?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Problems found in the variables; the caller decides how to report them. */
export type EnvWarning = (message: string) => void;

/**
 * Reads the variables of the OpenTelemetry specification that apply to an
 * OTLP/HTTP logs exporter ("OpenTelemetry Protocol Exporter" and "Resource
 * SDK" sections). A signal-specific variable (`..._LOGS_...`) wins over the
 * generic one; an empty or blank value counts as unset, as in the JS SDK.
 */
export function readOtelEnvironment(env: Env, warn: EnvWarning): OtelEnvironment {
  const get = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === "" ? undefined : value.trim();
  };
  const pick = (suffix: string): { name: string; value: string } | undefined => {
    for (const name of [`OTEL_EXPORTER_OTLP_LOGS_${suffix}`, `OTEL_EXPORTER_OTLP_${suffix}`]) {
      const value = get(name);
      if (value !== undefined) return { name, value };
    }
    return undefined;
  };

  const result: {
    -readonly [K in keyof OtelEnvironment]: OtelEnvironment[K];
  } = { headers: {}, resourceAttributes: {} };

  // The signal-specific endpoint is used as is; the generic one is a base
  // to which the signal's path is appended.
  const logsEndpoint = get("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT");
  const endpoint = get("OTEL_EXPORTER_OTLP_ENDPOINT");
  if (logsEndpoint !== undefined) {
    result.url = logsEndpoint;
    result.urlSource = "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT";
  } else if (endpoint !== undefined) {
    result.url = appendLogsPath(endpoint);
    result.urlSource = "OTEL_EXPORTER_OTLP_ENDPOINT";
  }

  // Generic headers first, the logs-specific ones override them key by key.
  result.headers = {
    ...parseKeyValueList(get("OTEL_EXPORTER_OTLP_HEADERS"), "OTEL_EXPORTER_OTLP_HEADERS", warn),
    ...parseKeyValueList(
      get("OTEL_EXPORTER_OTLP_LOGS_HEADERS"),
      "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
      warn,
    ),
  };

  const timeout = pick("TIMEOUT");
  if (timeout !== undefined) {
    const ms = Number(timeout.value);
    if (Number.isInteger(ms) && ms > 0) result.timeoutMs = ms;
    else warn(`${timeout.name} must be a positive integer of milliseconds; ignored`);
  }

  const compression = pick("COMPRESSION");
  if (compression !== undefined) {
    if (compression.value === "gzip" || compression.value === "none") {
      result.compression = compression.value;
    } else {
      warn(`${compression.name} must be "gzip" or "none"; ignored`);
    }
  }

  const protocol = pick("PROTOCOL");
  if (protocol !== undefined) result.protocol = protocol.value;

  const certificate = pick("CERTIFICATE");
  if (certificate !== undefined) result.certificateFile = certificate.value;
  const clientCertificate = pick("CLIENT_CERTIFICATE");
  if (clientCertificate !== undefined) result.clientCertificateFile = clientCertificate.value;
  const clientKey = pick("CLIENT_KEY");
  if (clientKey !== undefined) result.clientKeyFile = clientKey.value;

  result.resourceAttributes = parseResourceAttributes(get("OTEL_RESOURCE_ATTRIBUTES"), warn);
  const serviceName = get("OTEL_SERVICE_NAME");
  // OTEL_SERVICE_NAME wins over a service.name in OTEL_RESOURCE_ATTRIBUTES.
  result.serviceName = serviceName ?? result.resourceAttributes["service.name"];
  if (result.serviceName === undefined) delete result.serviceName;
  return result;
}

/** `base` + `v1/logs`, joined by exactly one slash (spec: "Endpoint URLs for OTLP/HTTP"). */
export function appendLogsPath(base: string): string {
  return `${base.endsWith("/") ? base : `${base}/`}v1/logs`;
}

/**
 * Whether `node:http` will send this header name: an RFC 9110 token. Asked of
 * Node itself, because a header it refuses fails every request locally
 * (ERR_INVALID_HTTP_TOKEN), which would otherwise be retried as a network
 * failure until the retries run out.
 */
export function isSendableHeaderName(name: string): boolean {
  try {
    validateHeaderName(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether `node:http` will send this header value: tab, space, visible
 * ASCII and U+0080-U+00FF only (Node's ERR_INVALID_CHAR rule), so no CR, LF,
 * NUL, DEL, and no character above U+00FF such as "€" or a zero-width space.
 */
export function isSendableHeaderValue(value: string): boolean {
  try {
    validateHeaderValue("x", value);
    return true;
  } catch {
    return false;
  }
}

/**
 * `key1=value1,key2=value2` with percent-encoded keys and values, the format
 * of `OTEL_EXPORTER_OTLP_HEADERS`. An entry without `=`, with an empty key or
 * with a bad percent-encoding is skipped with a warning that names its
 * position, never its value (headers hold credentials).
 */
export function parseKeyValueList(
  text: string | undefined,
  variable: string,
  warn: EnvWarning,
): Record<string, string> {
  const result: Record<string, string> = {};
  if (text === undefined) return result;
  text.split(",").forEach((entry, index) => {
    if (entry.trim() === "") return;
    const at = entry.indexOf("=");
    const key = at > 0 ? safeDecode(entry.slice(0, at).trim()) : undefined;
    const value = at > 0 ? safeDecode(entry.slice(at + 1).trim()) : undefined;
    if (key === undefined || key === "" || value === undefined) {
      warn(`${variable}: entry ${index + 1} is not a percent-encoded key=value pair; ignored`);
      return;
    }
    if (!isSendableHeaderName(key) || !isSendableHeaderValue(value)) {
      warn(`${variable}: entry ${index + 1} is not a valid HTTP header; ignored`);
      return;
    }
    // Header names are case-insensitive: one spelling, so that a later
    // source overrides an earlier one instead of sending both.
    result[key.toLowerCase()] = value;
  });
  return result;
}

/** The JS SDK's limit on a key or value of `OTEL_RESOURCE_ATTRIBUTES`. */
const MAX_RESOURCE_ATTRIBUTE_LENGTH = 255;

/**
 * `OTEL_RESOURCE_ATTRIBUTES`, parsed as the JS SDK's environment detector
 * does: `,` and `=` must be percent-encoded inside keys and values, and any
 * malformed entry discards the whole variable (the specification's rule).
 */
export function parseResourceAttributes(
  text: string | undefined,
  warn: EnvWarning,
): Record<string, string> {
  const result: Record<string, string> = {};
  if (text === undefined) return result;
  for (const entry of text.split(",")) {
    if (entry.trim() === "") continue;
    const parts = entry.split("=");
    const key = parts.length === 2 ? safeDecode(parts[0]!.trim()) : undefined;
    const value = parts.length === 2 ? safeDecode(parts[1]!.trim()) : undefined;
    if (
      key === undefined ||
      key === "" ||
      value === undefined ||
      key.length > MAX_RESOURCE_ATTRIBUTE_LENGTH ||
      value.length > MAX_RESOURCE_ATTRIBUTE_LENGTH
    ) {
      warn(
        "OTEL_RESOURCE_ATTRIBUTES is malformed (entries must be key=value, at most 255 characters each); ignored",
      );
      return {};
    }
    result[key] = value;
  }
  return result;
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
