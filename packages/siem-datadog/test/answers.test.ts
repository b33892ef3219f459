import { readFileSync } from "node:fs";
import { ExportError } from "@a1/siem-core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { datadogConfigurationAlarm } from "../src/configuration-alarm.js";
import { DatadogBatchExporter } from "../src/datadog-batch-exporter.js";
import { DatadogEntryEncoder } from "../src/datadog-entry.js";
import { DatadogLogExporter, type DatadogLogExporterOptions } from "../src/index.js";
import { resolveDatadogOptions } from "../src/resolve-datadog-options.js";
import { type IntakeServer, startIntakeServer, TEST_API_KEY } from "./support/intake-server.js";
import { expectAccounting, makeRecords } from "./support/records.js";

let server: IntakeServer;
beforeEach(async () => {
  server = await startIntakeServer();
});
afterEach(async () => {
  await server.close();
});

function exporterFor(options: Partial<DatadogLogExporterOptions> = {}) {
  const errors: ExportError[] = [];
  const exporter = new DatadogLogExporter({
    apiKey: TEST_API_KEY,
    url: server.url,
    flushIntervalMs: 5,
    retry: { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 5 },
    onError: (error) => errors.push(error),
    ...options,
  });
  return { exporter, errors };
}

/** One attempt through the backend alone, to read how an answer is classified. */
async function attempt(serverUrl: string): Promise<ExportError | undefined> {
  const resolved = resolveDatadogOptions({ apiKey: TEST_API_KEY, url: serverUrl });
  const batch = new DatadogBatchExporter(
    new DatadogEntryEncoder(resolved.entry),
    resolved.transport,
    resolved.apiKey,
    datadogConfigurationAlarm(),
  );
  try {
    await batch.exportBatch(makeRecords(2), { signal: new AbortController().signal });
    return undefined;
  } catch (error) {
    expect(ExportError.isInstance(error)).toBe(true);
    return error as ExportError;
  } finally {
    await batch.close();
  }
}

describe("answers", () => {
  it("202: delivered", async () => {
    const { exporter, errors } = exporterFor();
    for (const record of makeRecords(3)) exporter.export(record);
    await exporter.close();
    expect(server.counters().statuses).toEqual({ 202: 1 });
    expect(exporter.stats()).toMatchObject({ delivered: 3, failed: 0, retries: 0 });
    expect(errors).toEqual([]);
  });

  it("any other 2xx: delivered", async () => {
    server.fail({ status: 200, body: "{}" });
    const { exporter } = exporterFor();
    for (const record of makeRecords(3)) exporter.export(record);
    await exporter.close();
    expect(exporter.stats()).toMatchObject({ delivered: 3, retries: 0 });
  });

  it("400: rejected at once, never retried", async () => {
    server.fail({ status: 400, body: '{"errors":["Bad request"]}' });
    const { exporter, errors } = exporterFor();
    const records = makeRecords(3);
    for (const record of records) exporter.export(record);
    await exporter.close();
    expect(server.counters().requests).toBe(1);
    expect(exporter.stats()).toMatchObject({ delivered: 0, failed: 3, retries: 0, pending: 0 });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.reason).toBe("rejected");
    expect(errors[0]!.status).toBe(400);
    expect(errors[0]!.records).toEqual(records);
    expect(errors[0]!.message).toMatch(/HTTP 400.*malformed.*Bad request/);
  });

  it("403: a key problem, rejected once and said so", async () => {
    const { exporter, errors } = exporterFor({ apiKey: "ffffffffffffffffffffffffffffffff" });
    for (const record of makeRecords(3)) exporter.export(record);
    await exporter.close();
    expect(server.counters()).toMatchObject({ requests: 1, statuses: { 403: 1 } });
    expect(exporter.stats()).toMatchObject({ failed: 3, retries: 0 });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ reason: "rejected", status: 403, retryable: false });
    expect(errors[0]!.message).toMatch(/refused the API key \(HTTP 403\)/);
    expect(errors[0]!.message).toContain(server.url);
  });

  it("401/403: announced once as a configuration warning, even with onError", async () => {
    const warnings: Error[] = [];
    const listener = (warning: Error) => warnings.push(warning);
    process.on("warning", listener);
    try {
      server.setOutage({ status: 403 });
      const { exporter, errors } = exporterFor({ batchSize: 1 });
      for (const record of makeRecords(3)) exporter.export(record);
      await exporter.close();
      await new Promise((resolve) => setImmediate(resolve));
      expect(errors).toHaveLength(3);
      expect(exporter.configurationProblems).toEqual(["api-key"]);
    } finally {
      process.off("warning", listener);
    }
    const ours = warnings.filter((warning) => warning.name === "DatadogConfigurationWarning");
    expect(ours).toHaveLength(1);
    expect(ours[0]).toMatchObject({ code: "A1_SIEM_DATADOG_CONFIG" });
    expect(ours[0]!.message).toMatch(/refused the API key \(HTTP 403\)/);
  });

  it("a url that is not the intake (404): announced as a url problem", async () => {
    const { exporter } = exporterFor({ url: `${server.url}/not-the-intake` });
    exporter.export(makeRecords(1)[0]!);
    await exporter.close();
    expect(exporter.configurationProblems).toEqual(["url"]);
  });

  it("401: an authentication problem, rejected once and said so", async () => {
    server.fail({ status: 401 });
    const { exporter, errors } = exporterFor();
    for (const record of makeRecords(2)) exporter.export(record);
    await exporter.close();
    expect(server.counters().requests).toBe(1);
    expect(errors[0]).toMatchObject({ reason: "rejected", status: 401 });
    expect(errors[0]!.message).toMatch(/HTTP 401.*API key.*DD_API_KEY/);
  });

  it("404 and 501: permanent", async () => {
    server.fail({ status: 404 }, { status: 501 });
    const { exporter, errors } = exporterFor({ batchSize: 1 });
    for (const record of makeRecords(2)) exporter.export(record);
    await exporter.close();
    expect(server.counters().requests).toBe(2);
    expect(errors.map((error) => [error.status, error.reason])).toEqual([
      [404, "rejected"],
      [501, "rejected"],
    ]);
  });

  it.each([408, 429, 500, 502, 503, 504])("%i: retried, then delivered", async (status) => {
    server.fail({ status }, { status });
    const { exporter, errors } = exporterFor();
    for (const record of makeRecords(4)) exporter.export(record);
    await exporter.close();
    expect(server.counters().statuses).toEqual({ [status]: 2, 202: 1 });
    expect(exporter.stats()).toMatchObject({ delivered: 4, failed: 0, retries: 2 });
    expect(errors).toEqual([]);
    expect(server.eventIds.size).toBe(4);
  });

  it("retryable answers that never stop: retries exhausted", async () => {
    server.setOutage({ status: 503 });
    const { exporter, errors } = exporterFor({
      retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
    });
    for (const record of makeRecords(4)) exporter.export(record);
    await exporter.close();
    expect(server.counters().requests).toBe(3);
    expect(exporter.stats()).toMatchObject({ failed: 4, retries: 2, pending: 0 });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ reason: "retries-exhausted", status: 503 });
  });

  it("reads Retry-After (seconds or HTTP date) and X-RateLimit-Reset", async () => {
    server.fail({ status: 429, headers: { "retry-after": "7" } });
    expect((await attempt(server.url))?.retryAfterMs).toBe(7000);
    server.fail({ status: 429, headers: { "x-ratelimit-reset": "3" } });
    expect((await attempt(server.url))?.retryAfterMs).toBe(3000);
    server.fail({
      status: 503,
      headers: { "retry-after": new Date(Date.now() + 60_000).toUTCString() },
    });
    const dated = (await attempt(server.url))?.retryAfterMs ?? 0;
    expect(dated).toBeGreaterThan(50_000);
    expect(dated).toBeLessThanOrEqual(60_000);
    server.fail({ status: 429, headers: { "retry-after": "2", "x-ratelimit-reset": "9" } });
    expect((await attempt(server.url))?.retryAfterMs).toBe(2000);
    server.fail({ status: 429 });
    expect((await attempt(server.url))?.retryAfterMs).toBeUndefined();
  });

  it("waits at least as long as Retry-After asks before the next attempt", async () => {
    server.fail({ status: 429, headers: { "retry-after": "1" } });
    const { exporter } = exporterFor({
      retry: { maxAttempts: 3, initialDelayMs: 0, maxDelayMs: 0 },
    });
    for (const record of makeRecords(2)) exporter.export(record);
    await exporter.close();
    const [refused, accepted] = server.requests;
    expect(refused!.status).toBe(429);
    expect(accepted!.status).toBe(202);
    // A lower bound only: a slow machine can wait longer, never shorter.
    expect(accepted!.at - refused!.at).toBeGreaterThanOrEqual(950);
  });

  it("413: splits the batch and delivers the halves", async () => {
    await server.close();
    server = await startIntakeServer({ maxPayloadBytes: 6_000 });
    const { exporter, errors } = exporterFor({ batchSize: 40 });
    const records = makeRecords(40);
    for (const record of records) exporter.export(record);
    await exporter.close();
    const statuses = server.counters().statuses;
    expect(statuses[413]).toBeGreaterThan(0);
    expect(server.eventIds.size).toBe(40);
    expect(
      server.requests.filter((r) => r.status === 202).every((r) => r.payloadBytes <= 6_000),
    ).toBe(true);
    expect(exporter.stats()).toMatchObject({ delivered: 40, failed: 0, dropped: 0 });
    expect(errors).toEqual([]);
  });

  it("413 for a single record: dropped as oversize", async () => {
    server.fail({ status: 413 });
    const { exporter, errors } = exporterFor();
    const [record] = makeRecords(1);
    exporter.export(record!);
    await exporter.close();
    expect(exporter.stats()).toMatchObject({ dropped: 1, delivered: 0 });
    expect(errors[0]).toMatchObject({ reason: "oversize", status: 413 });
  });

  it("connection reset: retried", async () => {
    server.fail({ reset: true });
    const { exporter, errors } = exporterFor();
    for (const record of makeRecords(3)) exporter.export(record);
    await exporter.close();
    expect(exporter.stats()).toMatchObject({ delivered: 3, retries: 1 });
    expect(server.eventIds.size).toBe(3);
    expect(errors).toEqual([]);
  });

  it("a server that hangs past timeoutMs: aborted and retried", async () => {
    server.fail({ hang: true });
    const { exporter, errors } = exporterFor({ timeoutMs: 150 });
    for (const record of makeRecords(3)) exporter.export(record);
    await exporter.close();
    expect(exporter.stats()).toMatchObject({ delivered: 3, retries: 1 });
    expect(errors).toEqual([]);
  });

  it("nobody listening: retried, then reported as retries exhausted", async () => {
    const url = server.url;
    await server.close();
    const { exporter, errors } = exporterFor({
      url,
      retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
    });
    for (const record of makeRecords(3)) exporter.export(record);
    await exporter.close();
    expect(exporter.stats()).toMatchObject({ failed: 3, retries: 1, pending: 0 });
    expect(errors[0]!.reason).toBe("retries-exhausted");
    expect(errors[0]!.message).toMatch(/network error.*ECONNREFUSED/);
    server = await startIntakeServer();
  });

  describe("over TLS", () => {
    const tls = {
      key: readFileSync(new URL("./fixtures/test-server-key.pem", import.meta.url)),
      cert: readFileSync(new URL("./fixtures/test-server-cert.pem", import.meta.url)),
    };

    it("delivers to a server whose CA is given in tls.ca", async () => {
      const secure = await startIntakeServer({ tls });
      try {
        const { exporter, errors } = exporterFor({ url: secure.url, tls: { ca: tls.cert } });
        for (const record of makeRecords(3)) exporter.export(record);
        await exporter.close();
        expect(errors).toEqual([]);
        expect(secure.eventIds.size).toBe(3);
      } finally {
        await secure.close();
      }
    });

    it("verifies the certificate by default and does not retry a TLS failure", async () => {
      const secure = await startIntakeServer({ tls });
      try {
        const { exporter, errors } = exporterFor({ url: secure.url });
        for (const record of makeRecords(3)) exporter.export(record);
        await exporter.close();
        expect(secure.counters().requests).toBe(0);
        expect(exporter.stats()).toMatchObject({ failed: 3, retries: 0 });
        expect(errors[0]!.reason).toBe("rejected");
        expect(errors[0]!.message).toMatch(/TLS error/);
        expect(exporter.configurationProblems).toEqual(["tls"]);
      } finally {
        await secure.close();
      }
    });
  });

  it("keeps the accounting invariant after every answer class", async () => {
    server.fail(
      { status: 500 },
      { status: 400 },
      { reset: true },
      { status: 429 },
      { status: 403 },
    );
    const { exporter } = exporterFor({ batchSize: 2 });
    for (const record of makeRecords(12)) {
      exporter.export(record);
      expectAccounting(exporter.stats());
    }
    await exporter.close();
    const stats = exporter.stats();
    expectAccounting(stats);
    expect(stats.pending).toBe(0);
    expect(stats.failed).toBe(4);
    expect(stats.delivered).toBe(8);
  });
});
