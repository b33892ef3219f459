// The OpenTelemetry environment variables, as the specification describes
// them, with the exporter's options winning over them.
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { OpenTelemetryExporter } from "../src/index.js";
import { type OtlpHttpConfig, resolveOtelConfig } from "../src/resolve-config.js";
import { FAST } from "./support/harness.js";
import { plain } from "./support/otlp-decode.js";
import { OtlpTestServer } from "./support/otlp-server.js";
import { manyRecords } from "./support/records.js";

function resolve(
  env: Record<string, string>,
  options: Parameters<typeof resolveOtelConfig>[0] = {},
): { config: OtlpHttpConfig; warnings: string[] } {
  const warnings: string[] = [];
  const config = resolveOtelConfig(options, env, (message) => warnings.push(message));
  if (config.mode !== "otlp-http") throw new Error("expected the OTLP/HTTP mode");
  return { config, warnings };
}

describe("resolving options and environment", () => {
  test("defaults: localhost:4318/v1/logs, JSON, no compression, service a1", () => {
    const { config, warnings } = resolve({});
    expect(config.url.href).toBe("http://localhost:4318/v1/logs");
    expect(config.protocol).toBe("http/json");
    expect(config.compression).toBe("none");
    expect(config.headers).toEqual({});
    expect(config.resource.attributes["service.name"]).toBe("a1");
    expect(config.timeoutMs).toBeUndefined();
    expect(warnings).toEqual([]);
  });

  test.each([
    ["http://collector:4318", "http://collector:4318/v1/logs"],
    ["http://collector:4318/", "http://collector:4318/v1/logs"],
    ["https://otlp.example.com/otlp", "https://otlp.example.com/otlp/v1/logs"],
    ["https://otlp.example.com/otlp/", "https://otlp.example.com/otlp/v1/logs"],
  ])("OTEL_EXPORTER_OTLP_ENDPOINT %s is a base: logs go to %s", (endpoint, url) => {
    expect(resolve({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }).config.url.href).toBe(url);
    // The endpoint option follows the same rule.
    expect(resolve({}, { endpoint }).config.url.href).toBe(url);
  });

  test("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT is used as is and wins over the generic one", () => {
    const env = {
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: "https://logs.example.com:4443/custom/ingest",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://generic:4318",
    };
    expect(resolve(env).config.url.href).toBe("https://logs.example.com:4443/custom/ingest");
    // No path: the root, nothing appended.
    expect(resolve({ OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: "http://c:4318" }).config.url.href).toBe(
      "http://c:4318/",
    );
    // The option wins over both.
    expect(resolve(env, { endpoint: "http://mine:4318" }).config.url.href).toBe(
      "http://mine:4318/v1/logs",
    );
  });

  test("a blank variable counts as unset", () => {
    expect(
      resolve({ OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: "  ", OTEL_SERVICE_NAME: "" }).config,
    ).toMatchObject({ url: new URL("http://localhost:4318/v1/logs") });
  });

  test("headers: generic, then logs-specific per key, then the option per key; percent-decoded", () => {
    const { config, warnings } = resolve(
      {
        OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20generic,x-tenant=acme, x-a = 1 ",
        OTEL_EXPORTER_OTLP_LOGS_HEADERS: "authorization=Bearer%20logs,x-scope=a%2Cb%3Dc",
      },
      { headers: { "x-tenant": "from-option" } },
    );
    expect(config.headers).toEqual({
      authorization: "Bearer logs",
      "x-tenant": "from-option",
      "x-a": "1",
      "x-scope": "a,b=c",
    });
    expect(warnings).toEqual([]);
  });

  test("header names are case-insensitive: a later source overrides any spelling", () => {
    const { config } = resolve(
      {
        OTEL_EXPORTER_OTLP_HEADERS: "Authorization=generic,X-Tenant=acme",
        OTEL_EXPORTER_OTLP_LOGS_HEADERS: "AUTHORIZATION=logs",
      },
      { headers: { "x-TENANT": "option" } },
    );
    expect(config.headers).toEqual({ authorization: "logs", "x-tenant": "option" });
  });

  test("an environment header that is no valid HTTP header is skipped, not sent", () => {
    const { config, warnings } = resolve({
      OTEL_EXPORTER_OTLP_HEADERS: "bad name=1,x-ok=2,x-crlf=a%0D%0Ab",
    });
    expect(config.headers).toEqual({ "x-ok": "2" });
    expect(warnings).toEqual([
      "OTEL_EXPORTER_OTLP_HEADERS: entry 1 is not a valid HTTP header; ignored",
      "OTEL_EXPORTER_OTLP_HEADERS: entry 3 is not a valid HTTP header; ignored",
    ]);
  });

  test("an environment header value node:http would refuse (€, zero-width space, DEL) is skipped", () => {
    const { config, warnings } = resolve({
      OTEL_EXPORTER_OTLP_HEADERS: "x-euro=s3cr3t€,x-ok=1,x-zwsp=s3cr3t%E2%80%8B",
      OTEL_EXPORTER_OTLP_LOGS_HEADERS: "x-del=s3cr3t%7F,x-latin1=caf%C3%A9",
    });
    // U+00E9 is within Node's rule (sent as the byte 0xE9).
    expect(config.headers).toEqual({ "x-ok": "1", "x-latin1": "café" });
    expect(warnings).toEqual([
      "OTEL_EXPORTER_OTLP_HEADERS: entry 1 is not a valid HTTP header; ignored",
      "OTEL_EXPORTER_OTLP_HEADERS: entry 3 is not a valid HTTP header; ignored",
      "OTEL_EXPORTER_OTLP_LOGS_HEADERS: entry 1 is not a valid HTTP header; ignored",
    ]);
    expect(warnings.join(" ")).not.toMatch(/s3cr3t/);
  });

  test("property: a header value is kept exactly when Node's rule allows it, options and environment alike", () => {
    // Node's rule for a header value (lib/_http_common.js), written out
    // independently of the implementation, which asks node:http itself.
    const allowed = /^[\t\x20-\x7e\x80-\xff]*$/;
    const value = fc.oneof(
      fc.string({ unit: "binary" }),
      fc.string({
        unit: fc.constantFrom("a", " ", "\t", "\x7f", "\xe9", "€", "\u200b", "\r", "\0"),
      }),
    );
    fc.assert(
      fc.property(value, (text) => {
        const sendable = allowed.test(text);
        let thrown: unknown;
        try {
          resolve({}, { headers: { "x-value": `s3cr3t${text}` } });
        } catch (error) {
          thrown = error;
        }
        expect(thrown === undefined).toBe(sendable);
        if (thrown !== undefined) {
          expect(thrown).toBeInstanceOf(TypeError);
          expect((thrown as Error).message).not.toContain("s3cr3t");
        }
        // The environment skips, with a warning that never shows it, what Node refuses.
        const { config, warnings } = resolve({
          OTEL_EXPORTER_OTLP_HEADERS: `x-value=${encodeURIComponent(`s3cr3t${text}`)}`,
        });
        expect(config.headers["x-value"]).toBe(sendable ? `s3cr3t${text}` : undefined);
        expect(warnings.join(" ")).not.toContain("s3cr3t");
        expect(warnings.length).toBe(sendable ? 0 : 1);
      }),
    );
  });

  test("a malformed header entry is skipped with a warning that never shows its value", () => {
    const { config, warnings } = resolve({
      OTEL_EXPORTER_OTLP_HEADERS: "api-key=s3cr3t-value,novalue-s3cr3t,=orphan-s3cr3t,bad=%E0%A4%A",
    });
    expect(config.headers).toEqual({ "api-key": "s3cr3t-value" });
    expect(warnings).toHaveLength(3);
    expect(warnings.join(" ")).not.toMatch(/s3cr3t|%E0/);
    expect(warnings[0]).toContain("OTEL_EXPORTER_OTLP_HEADERS: entry 2");
  });

  test("service name: option, then OTEL_SERVICE_NAME, then OTEL_RESOURCE_ATTRIBUTES, then a1", () => {
    const attributes = "service.name=from-attributes,deployment.environment.name=prod%20eu";
    expect(
      resolve({ OTEL_RESOURCE_ATTRIBUTES: attributes }).config.resource.attributes,
    ).toMatchObject({
      "service.name": "from-attributes",
      "deployment.environment.name": "prod eu",
    });
    expect(
      resolve({ OTEL_RESOURCE_ATTRIBUTES: attributes, OTEL_SERVICE_NAME: "from-env" }).config
        .resource.attributes["service.name"],
    ).toBe("from-env");
    const withOptions = resolve(
      { OTEL_RESOURCE_ATTRIBUTES: attributes, OTEL_SERVICE_NAME: "from-env" },
      { serviceName: "from-option", resourceAttributes: { "deployment.environment.name": "dev" } },
    ).config.resource.attributes;
    expect(withOptions["service.name"]).toBe("from-option");
    expect(withOptions["deployment.environment.name"]).toBe("dev");
  });

  test("a malformed OTEL_RESOURCE_ATTRIBUTES is discarded whole, as the specification says", () => {
    const { config, warnings } = resolve({
      OTEL_RESOURCE_ATTRIBUTES: "team=payments,broken,region=eu",
    });
    expect(config.resource.attributes.team).toBeUndefined();
    expect(config.resource.attributes.region).toBeUndefined();
    expect(config.resource.attributes["service.name"]).toBe("a1");
    expect(warnings).toHaveLength(1);
  });

  test("timeout, compression and protocol: logs-specific, then generic; options win", () => {
    const env = {
      OTEL_EXPORTER_OTLP_TIMEOUT: "7000",
      OTEL_EXPORTER_OTLP_LOGS_TIMEOUT: "3000",
      OTEL_EXPORTER_OTLP_COMPRESSION: "gzip",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: "http/protobuf",
    };
    expect(resolve(env).config).toMatchObject({
      timeoutMs: 3000,
      compression: "gzip",
      protocol: "http/protobuf",
    });
    expect(resolve(env, { compression: "none", protocol: "http/json" }).config).toMatchObject({
      compression: "none",
      protocol: "http/json",
    });
  });

  test("unusable timeout or compression values are ignored with a warning", () => {
    const { config, warnings } = resolve({
      OTEL_EXPORTER_OTLP_TIMEOUT: "soon",
      OTEL_EXPORTER_OTLP_LOGS_COMPRESSION: "zstd",
    });
    expect(config.timeoutMs).toBeUndefined();
    expect(config.compression).toBe("none");
    expect(warnings).toHaveLength(2);
  });

  test("gRPC is refused with a clear error, an explicit protocol option overrides it", () => {
    expect(() => resolve({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toThrow(
      /"grpc" is not supported.*http\/protobuf/,
    );
    expect(
      resolve({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }, { protocol: "http/protobuf" }).config
        .protocol,
    ).toBe("http/protobuf");
  });

  test("a bad URL names its source, never its value (it may hold credentials)", () => {
    expect(() => resolve({ OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: "not a url s3cr3t" })).toThrow(
      /^OTEL_EXPORTER_OTLP_LOGS_ENDPOINT is not a valid URL$/,
    );
    expect(() => resolve({}, { endpoint: "ftp://user:s3cr3t@host" })).toThrow(
      "the endpoint option must be an http: or https: URL, got ftp:",
    );
  });

  test("loggerProvider refuses the options that belong to the provider", () => {
    const provider = { getLogger: () => ({ emit() {}, enabled: () => true }) };
    expect(() =>
      resolveOtelConfig(
        { loggerProvider: provider, endpoint: "http://x", serviceName: "s" },
        {},
        () => {},
      ),
    ).toThrow(/^endpoint, serviceName cannot be combined with loggerProvider/);
    expect(() => resolveOtelConfig({ loggerProvider: {} as never }, {}, () => {})).toThrow(
      /LoggerProvider/,
    );
  });
});

describe("the exporter reads the environment", () => {
  let server: OtlpTestServer;
  beforeAll(async () => {
    server = await OtlpTestServer.start();
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });
  afterAll(() => server.close());

  test("endpoint, headers, protocol, service name and resource attributes from OTEL_*", async () => {
    vi.stubEnv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", `${server.endpoint}/custom/logs`);
    vi.stubEnv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9");
    vi.stubEnv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20env-token");
    vi.stubEnv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
    vi.stubEnv("OTEL_SERVICE_NAME", "authz-from-env");
    vi.stubEnv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=prod");
    const exporter = new OpenTelemetryExporter(FAST);
    exporter.export(manyRecords(1)[0]!);
    await exporter.close();
    expect(exporter.stats().delivered).toBe(1);
    const request = server.requests.at(-1)!;
    expect(request.path).toBe("/custom/logs");
    expect(request.headers.authorization).toBe("Bearer env-token");
    expect(request.contentType).toBe("application/x-protobuf");
    const resource = request.records[0]!.resource;
    expect(plain(resource["service.name"])).toBe("authz-from-env");
    expect(plain(resource["deployment.environment.name"])).toBe("prod");
  });

  test("an unsendable environment header is left out: the request goes through at once, no retry", async () => {
    vi.stubEnv("OTEL_EXPORTER_OTLP_ENDPOINT", server.endpoint);
    vi.stubEnv("OTEL_EXPORTER_OTLP_HEADERS", "x-euro=s3cr3t€,x-tenant=acme");
    vi.stubEnv("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "x-zwsp=s3cr3t%E2%80%8B");
    const warnings: string[] = [];
    const listener = (warning: Error) => warnings.push(warning.message);
    process.on("warning", listener);
    const before = server.requests.length;
    try {
      const exporter = new OpenTelemetryExporter(FAST);
      exporter.export(manyRecords(1)[0]!);
      await exporter.close();
      await new Promise((resolve) => setImmediate(resolve));
      expect(exporter.stats()).toMatchObject({ delivered: 1, failed: 0, retries: 0 });
    } finally {
      process.off("warning", listener);
    }
    expect(server.requests.length).toBe(before + 1);
    const request = server.requests.at(-1)!;
    expect(request.headers["x-tenant"]).toBe("acme");
    expect(request.headers["x-euro"]).toBeUndefined();
    expect(request.headers["x-zwsp"]).toBeUndefined();
    expect(warnings).toContain(
      "[OpenTelemetryExporter] OTEL_EXPORTER_OTLP_HEADERS: entry 1 is not a valid HTTP header; ignored",
    );
    expect(warnings).toContain(
      "[OpenTelemetryExporter] OTEL_EXPORTER_OTLP_LOGS_HEADERS: entry 1 is not a valid HTTP header; ignored",
    );
    expect(warnings.join("\n")).not.toContain("s3cr3t");
  });

  test("the generic endpoint gets /v1/logs; options win over every variable", async () => {
    vi.stubEnv("OTEL_EXPORTER_OTLP_ENDPOINT", server.endpoint);
    vi.stubEnv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=env");
    vi.stubEnv("OTEL_SERVICE_NAME", "from-env");
    vi.stubEnv("OTEL_EXPORTER_OTLP_TIMEOUT", "1");
    const exporter = new OpenTelemetryExporter({
      ...FAST,
      serviceName: "from-option",
      headers: { "x-tenant": "option" },
      timeoutMs: 5000,
    });
    exporter.export(manyRecords(1)[0]!);
    await exporter.close();
    expect(exporter.stats().delivered).toBe(1);
    const request = server.requests.at(-1)!;
    expect(request.path).toBe("/v1/logs");
    expect(request.contentType).toBe("application/json"); // the default
    expect(request.headers["x-tenant"]).toBe("option");
    expect(plain(request.records[0]!.resource["service.name"])).toBe("from-option");
  });

  test("OTEL_EXPORTER_OTLP_TIMEOUT bounds an attempt when timeoutMs is not given", async () => {
    vi.stubEnv("OTEL_EXPORTER_OTLP_ENDPOINT", server.endpoint);
    vi.stubEnv("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "400");
    server.plan({ hang: true });
    const exporter = new OpenTelemetryExporter(FAST);
    exporter.export(manyRecords(1)[0]!);
    await exporter.close();
    // The hang was cut short and a retry delivered.
    expect(exporter.stats()).toMatchObject({ delivered: 1, failed: 0 });
    expect(exporter.stats().retries).toBeGreaterThanOrEqual(1);
  });
});
