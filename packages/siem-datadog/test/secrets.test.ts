import { readFileSync } from "node:fs";
import { inspect } from "node:util";
import type { ExportError } from "@a1/siem-core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DatadogLogExporter, type DatadogLogExporterOptions } from "../src/index.js";
import { type IntakeServer, startIntakeServer } from "./support/intake-server.js";
import { makeRecords } from "./support/records.js";

const KEY = "5ec7e75ec7e75ec7e75ec7e75ec7e7aa";

let server: IntakeServer;
beforeEach(async () => {
  server = await startIntakeServer({ apiKeys: [KEY] });
});
afterEach(async () => {
  await server.close();
});

/** Everything a user could see of a value: its inspected form with hidden fields, message, stack and causes. */
function visible(value: unknown): string {
  const parts = [inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true })];
  for (let current = value, depth = 0; current instanceof Error && depth < 10; depth++) {
    parts.push(current.message, String(current.stack), JSON.stringify(current));
    current = current.cause;
  }
  return parts.join("\n");
}

async function failuresWith(
  options: Partial<DatadogLogExporterOptions>,
  prepare: () => void | Promise<void> = () => {},
): Promise<{ errors: ExportError[]; exporter: DatadogLogExporter }> {
  await prepare();
  const errors: ExportError[] = [];
  const exporter = new DatadogLogExporter({
    apiKey: KEY,
    url: server.url,
    flushIntervalMs: 5,
    timeoutMs: 200,
    retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
    onError: (error) => errors.push(error),
    ...options,
  });
  for (const record of makeRecords(2)) exporter.export(record);
  await exporter.close();
  return { errors, exporter };
}

describe("the API key never leaks", () => {
  it.each([
    [
      "a 403 whose body echoes the key",
      () => server.fail({ status: 403, body: `{"errors":["bad key ${KEY}"]}` }),
    ],
    [
      "a 500 whose body echoes the key",
      () => server.setOutage({ status: 500, body: `key=${KEY}` }),
    ],
    ["a 400", () => server.fail({ status: 400, body: `{"DD-API-KEY":"${KEY}"}` })],
    ["a 413 on one record", () => server.setOutage({ status: 413, body: KEY })],
    ["connection resets", () => server.setOutage({ reset: true })],
    ["a timeout", () => server.setOutage({ hang: true })],
  ])("not in errors, their causes or inspected forms, after %s", async (_name, prepare) => {
    const { errors, exporter } = await failuresWith({ batchSize: 1 }, prepare);
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) expect(visible(error)).not.toContain(KEY);
    expect(visible(exporter)).not.toContain(KEY);
    expect(JSON.stringify(exporter.stats())).not.toContain(KEY);
  });

  it("not when nobody listens, nor on a TLS failure", async () => {
    const url = server.url;
    await server.close();
    const refused = await failuresWith({ url });
    const secure = await startIntakeServer({
      apiKeys: [KEY],
      tls: {
        key: readFileSync(new URL("./fixtures/test-server-key.pem", import.meta.url)),
        cert: readFileSync(new URL("./fixtures/test-server-cert.pem", import.meta.url)),
      },
    });
    const tls = await failuresWith({ url: secure.url });
    await secure.close();
    for (const error of [...refused.errors, ...tls.errors])
      expect(visible(error)).not.toContain(KEY);
    expect(refused.errors.length + tls.errors.length).toBeGreaterThan(0);
    server = await startIntakeServer({ apiKeys: [KEY] });
  });

  it("not in process warnings when there is no onError", async () => {
    const warnings: Error[] = [];
    const listener = (warning: Error) => warnings.push(warning);
    process.on("warning", listener);
    try {
      server.setOutage({ status: 403, body: KEY });
      const exporter = new DatadogLogExporter({ apiKey: KEY, url: server.url, flushIntervalMs: 5 });
      for (const record of makeRecords(2)) exporter.export(record);
      await exporter.close();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("warning", listener);
    }
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.map((warning) => warning.message).join("\n")).toMatch(/refused the API key/);
    for (const warning of warnings) expect(visible(warning)).not.toContain(KEY);
  });

  it("not in the exporter's inspected form or stats while in use", async () => {
    const exporter = new DatadogLogExporter({ apiKey: KEY, url: server.url, flushIntervalMs: 5 });
    for (const record of makeRecords(2)) exporter.export(record);
    expect(visible(exporter)).not.toContain(KEY);
    expect(JSON.stringify(exporter)).not.toContain(KEY);
    await exporter.close();
    expect(server.requests[0]!.headers["dd-api-key"]).toBe(KEY);
    expect(visible(exporter)).not.toContain(KEY);
    expect(JSON.stringify(exporter.stats())).not.toContain(KEY);
  });

  it("only in the DD-API-KEY header: never in the URL or the body", async () => {
    const exporter = new DatadogLogExporter({ apiKey: KEY, url: server.url, flushIntervalMs: 5 });
    for (const record of makeRecords(2)) exporter.export(record);
    await exporter.close();
    const [request] = server.requests;
    expect(request!.path).not.toContain(KEY);
    expect(request!.body).not.toContain(KEY);
    const otherHeaders = Object.entries(request!.headers).filter(([name]) => name !== "dd-api-key");
    expect(JSON.stringify(otherHeaders)).not.toContain(KEY);
  });
});
