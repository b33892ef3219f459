import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DATADOG_SITES, DatadogLogExporter, type DatadogSite } from "../src/index.js";
import { ForwardingDispatcher } from "./support/forwarding-dispatcher.js";
import { type IntakeServer, startIntakeServer, TEST_API_KEY } from "./support/intake-server.js";
import { makeRecord } from "./support/records.js";

let server: IntakeServer;
beforeEach(async () => {
  server = await startIntakeServer({ apiKeys: [TEST_API_KEY, "env0000000000000000000000000key0"] });
  vi.stubEnv("DD_API_KEY", undefined);
  vi.stubEnv("DD_SITE", undefined);
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await server.close();
});

const EXPECTED_SITES: Record<string, string> = {
  US1: "datadoghq.com",
  US3: "us3.datadoghq.com",
  US5: "us5.datadoghq.com",
  EU1: "datadoghq.eu",
  AP1: "ap1.datadoghq.com",
  AP2: "ap2.datadoghq.com",
  UK1: "uk1.datadoghq.com",
  "US1-FED": "ddog-gov.com",
  "US2-FED": "us2.ddog-gov.com",
};

describe("sites", () => {
  it("knows every Datadog site", () => {
    expect(
      Object.fromEntries(Object.entries(DATADOG_SITES).map(([site, region]) => [region, site])),
    ).toEqual(EXPECTED_SITES);
  });

  it.each(Object.entries(EXPECTED_SITES))(
    "%s: posts to https://http-intake.logs.%s/api/v2/logs",
    async (_region, site) => {
      const dispatcher = new ForwardingDispatcher(server.url);
      const exporter = new DatadogLogExporter({
        apiKey: TEST_API_KEY,
        site,
        dispatcher,
        flushIntervalMs: 5,
      });
      const expected = `https://http-intake.logs.${site}/api/v2/logs`;
      expect(exporter.site).toBe(site);
      expect(exporter.endpoint).toBe(expected);
      exporter.export(makeRecord(1));
      await exporter.close();
      expect(dispatcher.seen).toEqual([expected]);
      expect(server.counters().uniqueIds).toBe(1);
      await dispatcher.close();
    },
  );

  it("defaults to US1", () => {
    const exporter = new DatadogLogExporter({ apiKey: TEST_API_KEY });
    expect(exporter.site).toBe("datadoghq.com");
    expect(exporter.endpoint).toBe("https://http-intake.logs.datadoghq.com/api/v2/logs");
  });

  it("takes DD_SITE when no site is given, and the option over DD_SITE", () => {
    vi.stubEnv("DD_SITE", "datadoghq.eu");
    expect(new DatadogLogExporter({ apiKey: TEST_API_KEY }).endpoint).toBe(
      "https://http-intake.logs.datadoghq.eu/api/v2/logs",
    );
    expect(new DatadogLogExporter({ apiKey: TEST_API_KEY, site: "ap1.datadoghq.com" }).site).toBe(
      "ap1.datadoghq.com",
    );
    vi.stubEnv("DD_SITE", "");
    expect(new DatadogLogExporter({ apiKey: TEST_API_KEY }).site).toBe("datadoghq.com");
  });

  it("refuses an unknown site and lists the valid ones", () => {
    const attempt = () => new DatadogLogExporter({ apiKey: TEST_API_KEY, site: "datadoghq.co" });
    expect(attempt).toThrow(RangeError);
    expect(attempt).toThrow(/unknown Datadog site "datadoghq.co"/);
    for (const site of Object.keys(DATADOG_SITES)) expect(attempt).toThrow(site);
  });

  it("refuses an unknown DD_SITE, naming DD_SITE", () => {
    vi.stubEnv("DD_SITE", "eu");
    expect(() => new DatadogLogExporter({ apiKey: TEST_API_KEY })).toThrow(
      /unknown Datadog DD_SITE "eu"/,
    );
  });

  it("hints at the site parameter when given the web address", () => {
    expect(
      () =>
        new DatadogLogExporter({ apiKey: TEST_API_KEY, site: "app.datadoghq.eu" as DatadogSite }),
    ).toThrow(/app.datadoghq.eu is site datadoghq.eu/);
  });

  it("accepts a site in another case or with spaces", () => {
    expect(new DatadogLogExporter({ apiKey: TEST_API_KEY, site: " US3.DatadogHQ.com " }).site).toBe(
      "us3.datadoghq.com",
    );
  });
});

describe("url", () => {
  it("replaces the intake origin; /api/v2/logs is appended after any path prefix", () => {
    expect(
      new DatadogLogExporter({ apiKey: TEST_API_KEY, url: "http://relay:8080/" }).endpoint,
    ).toBe("http://relay:8080/api/v2/logs");
    expect(
      new DatadogLogExporter({
        apiKey: TEST_API_KEY,
        url: new URL("https://proxy.internal/datadog//"),
      }).endpoint,
    ).toBe("https://proxy.internal/datadog/api/v2/logs");
  });

  it("refuses a URL that is not http(s), not a URL, or carries credentials", () => {
    expect(() => new DatadogLogExporter({ apiKey: TEST_API_KEY, url: "ftp://x" })).toThrow(
      /http\(s\)/,
    );
    expect(() => new DatadogLogExporter({ apiKey: TEST_API_KEY, url: "not a url" })).toThrow(
      /not a valid URL/,
    );
    const withCredentials = () =>
      new DatadogLogExporter({ apiKey: TEST_API_KEY, url: "https://user:hunter2@relay" });
    expect(withCredentials).toThrow(/must not carry credentials/);
    expect(withCredentials).not.toThrow(/hunter2/);
  });
});

describe("API key", () => {
  it("takes DD_API_KEY when no apiKey is given", async () => {
    vi.stubEnv("DD_API_KEY", "env0000000000000000000000000key0");
    const exporter = new DatadogLogExporter({ url: server.url, flushIntervalMs: 5 });
    exporter.export(makeRecord(1));
    await exporter.close();
    expect(server.requests[0]!.headers["dd-api-key"]).toBe("env0000000000000000000000000key0");
    expect(exporter.stats().delivered).toBe(1);
  });

  it("prefers the apiKey option to DD_API_KEY", async () => {
    vi.stubEnv("DD_API_KEY", "env0000000000000000000000000key0");
    const exporter = new DatadogLogExporter({
      apiKey: TEST_API_KEY,
      url: server.url,
      flushIntervalMs: 5,
    });
    exporter.export(makeRecord(1));
    await exporter.close();
    expect(server.requests[0]!.headers["dd-api-key"]).toBe(TEST_API_KEY);
  });

  it("refuses to start without a key, saying where one goes", () => {
    expect(() => new DatadogLogExporter()).toThrow(
      /no Datadog API key: pass the apiKey option or set DD_API_KEY/,
    );
    vi.stubEnv("DD_API_KEY", "");
    expect(() => new DatadogLogExporter({})).toThrow(/DD_API_KEY/);
    expect(() => new DatadogLogExporter({ apiKey: "" })).toThrow(/no Datadog API key/);
  });

  it("refuses a key that cannot be a header value, without quoting it", () => {
    const attempt = () => new DatadogLogExporter({ apiKey: "secret-part\r\nX-Injected: 1" });
    expect(attempt).toThrow(/printable ASCII/);
    expect(attempt).not.toThrow(/secret-part/);
  });
});

describe("other options", () => {
  it("refuses tls together with a dispatcher, an unknown compression, and bad delivery options", () => {
    const dispatcher = new ForwardingDispatcher(server.url);
    expect(
      () =>
        new DatadogLogExporter({
          apiKey: TEST_API_KEY,
          dispatcher,
          tls: { rejectUnauthorized: true },
        }),
    ).toThrow(/either tls or dispatcher/);
    expect(
      () => new DatadogLogExporter({ apiKey: TEST_API_KEY, compression: "zstd" as "gzip" }),
    ).toThrow(/compression must be "gzip" or "none"/);
    expect(() => new DatadogLogExporter({ apiKey: TEST_API_KEY, batchSize: 0 })).toThrow(
      RangeError,
    );
    expect(() => new DatadogLogExporter({ apiKey: TEST_API_KEY, service: "" })).toThrow(/service/);
    expect(
      () => new DatadogLogExporter({ apiKey: TEST_API_KEY, tags: { env: 1 as unknown as string } }),
    ).toThrow(/tag env/);
  });

  it("closes a dispatcher of its own but leaves the user's open", async () => {
    const dispatcher = new ForwardingDispatcher(server.url);
    const exporter = new DatadogLogExporter({
      apiKey: TEST_API_KEY,
      dispatcher,
      flushIntervalMs: 5,
    });
    exporter.export(makeRecord(1));
    await exporter.close();
    // Still usable after the exporter closed.
    const second = new DatadogLogExporter({ apiKey: TEST_API_KEY, dispatcher, flushIntervalMs: 5 });
    second.export(makeRecord(2));
    await second.close();
    expect(server.counters().uniqueIds).toBe(2);
    await dispatcher.close();
  });

  it("drops a record exported after close() as closed", async () => {
    const errors: string[] = [];
    const exporter = new DatadogLogExporter({
      apiKey: TEST_API_KEY,
      url: server.url,
      onError: (error) => errors.push(error.reason),
    });
    await exporter.close();
    await exporter.close();
    exporter.export(makeRecord(1));
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toEqual(["closed"]);
    expect(exporter.stats()).toMatchObject({ received: 1, dropped: 1, pending: 0 });
  });
});
