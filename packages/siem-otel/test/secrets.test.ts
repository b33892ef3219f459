// Header values are credentials: they never appear in an error (message,
// stack, cause chain, inspected form), a warning, stats() or the inspected
// exporter — also when the receiver echoes them back.
import { inspect } from "node:util";
import type { ExportError } from "@a1/siem-core";
import { afterAll, afterEach, beforeAll, expect, test, vi } from "vitest";
import { OpenTelemetryExporter } from "../src/index.js";
import { FAST } from "./support/harness.js";
import { OtlpTestServer } from "./support/otlp-server.js";
import { manyRecords } from "./support/records.js";

const TOKEN = "Bearer tok-7f3a9c1e5b";
const API_KEY = "key-2d4f6a8c0e";
const ENV_SECRET = "env-9b7d5f3a1c";
const SECRETS = [TOKEN, "tok-7f3a9c1e5b", API_KEY, ENV_SECRET];

let server: OtlpTestServer;
beforeAll(async () => {
  server = await OtlpTestServer.start();
});
afterEach(() => {
  server.clearPlan();
  server.answerAlways({});
  vi.unstubAllEnvs();
});
afterAll(() => server.close());

/** Everything a log shipper could capture about an error. */
function everythingAbout(error: unknown): string {
  const parts: string[] = [inspect(error, { depth: 20, showHidden: true })];
  for (let current = error, depth = 0; current && depth < 10; depth++) {
    const e = current as { message?: unknown; stack?: unknown; cause?: unknown };
    parts.push(String(e.message), String(e.stack), JSON.stringify(current) ?? "");
    current = e.cause;
  }
  return parts.join("\n");
}

function expectNoSecret(text: string): void {
  for (const secret of SECRETS) expect(text).not.toContain(secret);
}

function secretExporter(options: ConstructorParameters<typeof OpenTelemetryExporter>[0] = {}) {
  vi.stubEnv("OTEL_EXPORTER_OTLP_HEADERS", `x-env-secret=${ENV_SECRET}`);
  return new OpenTelemetryExporter({
    endpoint: server.endpoint,
    headers: { authorization: TOKEN, "x-api-key": API_KEY },
    ...FAST,
    retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
    ...options,
  });
}

test("the headers are sent, and no error about any answer shows them, even when echoed back", async () => {
  const echo = `credentials ${TOKEN} / ${API_KEY} / ${ENV_SECRET} refused`;
  server.plan(
    { status: 401, message: echo },
    { status: 503, message: echo },
    { status: 503, message: echo },
    { partialSuccess: { rejected: 1, message: echo } },
    { reset: true },
    { reset: true },
    { status: 400, rawBody: echo },
  );
  const errors: ExportError[] = [];
  const exporter = secretExporter({ batchSize: 1, concurrency: 1, onError: (e) => errors.push(e) });
  for (const record of manyRecords(5)) exporter.export(record);
  await exporter.close();

  const sent = server.requests[server.requests.length - 7]!;
  expect(sent.headers.authorization).toBe(TOKEN);
  expect(sent.headers["x-api-key"]).toBe(API_KEY);
  expect(sent.headers["x-env-secret"]).toBe(ENV_SECRET);

  expect(errors.map((e) => [e.reason, e.status])).toEqual([
    ["rejected", 401],
    ["retries-exhausted", 503],
    ["rejected", 200],
    ["retries-exhausted", undefined],
    ["rejected", 400],
  ]);
  for (const error of errors) expectNoSecret(everythingAbout(error));
  // The receiver's message is still there, with the secrets blanked out.
  expect(errors[0]!.message).toContain("credentials [REDACTED]");
  expectNoSecret(JSON.stringify(exporter.stats()));
  expectNoSecret(inspect(exporter, { depth: 20, showHidden: true }));
});

test("without onError, the warnings do not show them either", async () => {
  const warnings: string[] = [];
  const listener = (warning: Error) => warnings.push(`${warning.message}\n${warning.stack}`);
  process.on("warning", listener);
  try {
    server.plan({ status: 403, message: `forbidden for ${TOKEN} ${API_KEY} ${ENV_SECRET}` });
    const exporter = secretExporter();
    exporter.export(manyRecords(1)[0]!);
    await exporter.close();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off("warning", listener);
  }
  expect(warnings.length).toBeGreaterThan(0);
  expect(warnings.join("\n")).toContain("403");
  expectNoSecret(warnings.join("\n"));
});

test("a bad header value is refused without showing it", () => {
  expect(() => secretExporter({ headers: { authorization: `${TOKEN}\r\nx-injected: 1` } })).toThrow(
    "header authorization must be a string of tab, space, visible ASCII or U+0080-U+00FF characters",
  );
  let caught: unknown;
  try {
    secretExporter({ headers: { authorization: `${TOKEN}\n` } });
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(TypeError);
  expectNoSecret(everythingAbout(caught));
});

test("a header value node:http would refuse (€, zero-width space) fails construction, sends nothing", async () => {
  const before = server.requests.length;
  for (const bad of [`${TOKEN}€`, `${TOKEN}\u200b`, `${TOKEN}\x7f`]) {
    let caught: unknown;
    try {
      const exporter = secretExporter({ headers: { authorization: bad } });
      exporter.export(manyRecords(1)[0]!);
      await exporter.close();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TypeError);
    expect((caught as Error).message).toMatch(/^header authorization must be a string of /);
    expectNoSecret(everythingAbout(caught));
  }
  expect(() => secretExporter({ headers: { "x-tëst": "1" } })).toThrow(
    /^header name "x-tëst" is invalid: it must be an HTTP token/,
  );
  await new Promise((resolve) => setImmediate(resolve));
  expect(server.requests.length).toBe(before);
});

test("credentials in the endpoint URL are blanked out like header values", async () => {
  const password = "p4ss-6e1c9a7b";
  const basic = Buffer.from(`audit:${password}`).toString("base64");
  server.plan({ status: 401, message: `bad credentials audit:${password} (Basic ${basic})` });
  const errors: ExportError[] = [];
  const exporter = new OpenTelemetryExporter({
    ...FAST,
    endpoint: server.endpoint.replace("http://", `http://audit:${password}@`),
    onError: (e) => errors.push(e),
  });
  exporter.export(manyRecords(1)[0]!);
  await exporter.close();
  expect(server.requests.at(-1)!.headers.authorization).toBe(`Basic ${basic}`);
  expect(errors).toHaveLength(1);
  const text = everythingAbout(errors[0]);
  expect(text).toContain("bad credentials");
  expect(text).not.toContain(password);
  expect(text).not.toContain(basic);
});
