import { AuditRecord } from "@a1/siem-core";
import { Agent } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SplunkHecExporter, type SplunkHecExporterOptions } from "../src/index.js";
import { AccountingWatch } from "./support/accounting.js";
import { DEFAULT_TOKEN, HecTestServer } from "./support/hec-server.js";
import { makeRecords } from "./support/records.js";

let server: HecTestServer | undefined;
let savedToken: string | undefined;
beforeEach(() => {
  savedToken = process.env.SPLUNK_HEC_TOKEN;
  delete process.env.SPLUNK_HEC_TOKEN;
});
afterEach(async () => {
  if (savedToken === undefined) delete process.env.SPLUNK_HEC_TOKEN;
  else process.env.SPLUNK_HEC_TOKEN = savedToken;
  await server?.close();
  server = undefined;
});

const make = (options: Partial<SplunkHecExporterOptions>) =>
  new SplunkHecExporter({
    url: "https://splunk.example.com:8088",
    ...options,
  } as SplunkHecExporterOptions);

describe("construction", () => {
  it("without a token or SPLUNK_HEC_TOKEN, says how to fix it", () => {
    expect(() => make({})).toThrow(TypeError);
    expect(() => make({})).toThrow(/no HEC token.*token.*SPLUNK_HEC_TOKEN/);
    process.env.SPLUNK_HEC_TOKEN = "";
    expect(() => make({})).toThrow(/SPLUNK_HEC_TOKEN/);
  });

  it("takes the token from SPLUNK_HEC_TOKEN", async () => {
    server = await HecTestServer.start();
    process.env.SPLUNK_HEC_TOKEN = DEFAULT_TOKEN;
    const exporter = new SplunkHecExporter({ url: server.url, flushIntervalMs: 1 });
    exporter.export(makeRecords(1)[0]!);
    await exporter.close();
    expect(server.eventRequests[0]!.headers.authorization).toBe(`Splunk ${DEFAULT_TOKEN}`);
    expect(exporter.stats().delivered).toBe(1);
  });

  it("prefers the token option over the environment, and trims a pasted 'Splunk ' prefix and newline", async () => {
    server = await HecTestServer.start();
    process.env.SPLUNK_HEC_TOKEN = "from-the-environment";
    const exporter = new SplunkHecExporter({
      url: server.url,
      token: `Splunk ${DEFAULT_TOKEN}\n`,
      flushIntervalMs: 1,
    });
    exporter.export(makeRecords(1)[0]!);
    await exporter.close();
    expect(server.eventRequests[0]!.headers.authorization).toBe(`Splunk ${DEFAULT_TOKEN}`);
  });

  it.each([
    [undefined, /url is required/],
    ["", /url is required/],
    ["splunk:8088", /https:\/\//],
    ["not a url", /not a valid absolute URL/],
    ["ftp://splunk:8088", /must start with https:\/\//],
    ["https://user:pass@splunk:8088", /must not carry credentials/],
    ["https://splunk:8088/?token=abc", /must not have a query string/],
    ["https://splunk:8088/#x", /must not have a query string or fragment/],
  ])("rejects the url %j clearly", (url, message) => {
    expect(() => make({ url: url as string, token: "t" })).toThrow(message);
  });

  it.each<[Partial<SplunkHecExporterOptions>, RegExp]>([
    [{ token: "a b" }, /cannot go in an HTTP header/],
    [{ ack: { maxResends: -1 } }, /ack.maxResends must be an integer >= 0/],
    [{ ack: { maxResends: 1.5 } }, /ack.maxResends must be an integer >= 0/],
    [{ token: 42 as unknown as string }, /token must be a string/],
    [{ index: "" }, /index must be a non-empty string/],
    [{ source: 1 as unknown as string }, /source must be a non-empty string/],
    [{ compression: "br" as "gzip" }, /compression must be "gzip" or "none"/],
    [{ ack: "yes" as unknown as boolean }, /ack must be true, false/],
    [{ ack: { pollIntervalMs: 0 } }, /ack.pollIntervalMs must be an integer >= 1/],
    [{ ack: { timeoutMs: 1.5 } }, /ack.timeoutMs must be an integer >= 1/],
    [{ timeoutMs: 0 }, /timeoutMs must be an integer >= 1/],
    [{ batchSize: 0 }, /batchSize must be an integer >= 1/],
    [{ dispatcher: {} as Agent }, /dispatcher must be an undici Dispatcher/],
    [{ dispatcher: new Agent(), tls: { ca: "x" } }, /tls and dispatcher exclude each other/],
  ])("rejects %j", (options, message) => {
    expect(() => make({ token: "t", ...options })).toThrow(message);
  });
});

describe("lifecycle", () => {
  it("drops a record exported after close() as closed, and close() is idempotent", async () => {
    server = await HecTestServer.start();
    const watch = new AccountingWatch();
    const exporter = new SplunkHecExporter({
      url: server.url,
      token: DEFAULT_TOKEN,
      flushIntervalMs: 1,
      onError: watch.onError,
    });
    exporter.export(makeRecords(1)[0]!);
    await exporter.close();
    await exporter.close();
    exporter.export(makeRecords(1, 1)[0]!);
    await new Promise((resolve) => setImmediate(resolve));
    expect(watch.reported("closed")).toBe(1);
    expect(exporter.stats()).toMatchObject({ received: 2, delivered: 1, dropped: 1, pending: 0 });
  });

  it("exportDict() takes the wire form, and refuses a malformed one without queueing", async () => {
    server = await HecTestServer.start();
    const exporter = new SplunkHecExporter({
      url: server.url,
      token: DEFAULT_TOKEN,
      flushIntervalMs: 1,
    });
    exporter.exportDict(makeRecords(1)[0]!.toDict());
    expect(() => exporter.exportDict({ event_id: 5 })).toThrow(/event_id/);
    await exporter.close();
    expect(exporter.stats()).toMatchObject({ received: 1, delivered: 1 });
    expect(AuditRecord.fromDict(server.indexed[0]!.event as Record<string, unknown>)).toEqual(
      makeRecords(1)[0],
    );
  });

  it("sends through an injected dispatcher and leaves it open on close()", async () => {
    server = await HecTestServer.start();
    const dispatcher = new Agent();
    const exporter = new SplunkHecExporter({
      url: server.url,
      token: DEFAULT_TOKEN,
      dispatcher,
      flushIntervalMs: 1,
    });
    exporter.export(makeRecords(1)[0]!);
    await exporter.close();
    expect(exporter.stats().delivered).toBe(1);
    expect(dispatcher.closed).toBe(false);
    // Still usable by its owner.
    const response = await dispatcher.request({
      origin: server.url,
      path: "/services/collector/health",
      method: "GET",
    });
    expect(response.statusCode).toBe(200);
    await response.body.text();
    await dispatcher.close();
  });

  it("uses the Splunk defaults: 1,000 records or 1,000,000 bytes per request", async () => {
    server = await HecTestServer.start();
    const exporter = new SplunkHecExporter({ url: server.url, token: DEFAULT_TOKEN });
    const records = makeRecords(2_500);
    for (const record of records) exporter.export(record);
    await exporter.close();
    expect(server.eventRequests.map((r) => r.events.length)).toEqual([1000, 1000, 500]);
    const big = makeRecords(3).map(
      (r, i) =>
        new AuditRecord({ ...r, extra: { blob: "y".repeat(400_000) }, eventId: `big-${i}` }),
    );
    const second = new SplunkHecExporter({
      url: server.url,
      token: DEFAULT_TOKEN,
      flushIntervalMs: 1,
    });
    for (const record of big) second.export(record);
    await second.close();
    const sizes = server.eventRequests.slice(3).map((r) => r.events.length);
    expect(sizes).toEqual([2, 1]);
    for (const request of server.eventRequests)
      expect(request.raw.length).toBeLessThanOrEqual(1_000_000);
  });
});
