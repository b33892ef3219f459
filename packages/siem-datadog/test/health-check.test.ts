import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DATADOG_SITES, DatadogLogExporter } from "../src/index.js";
import { ForwardingDispatcher } from "./support/forwarding-dispatcher.js";
import { type IntakeServer, startIntakeServer, TEST_API_KEY } from "./support/intake-server.js";

let server: IntakeServer;
beforeEach(async () => {
  server = await startIntakeServer();
});
afterEach(async () => {
  await server.close();
});

const exporterWith = (options: Record<string, unknown> = {}) =>
  new DatadogLogExporter({ apiKey: TEST_API_KEY, url: server.url, ...options });

describe("healthCheck()", () => {
  it("healthy when Datadog accepts the key; sends no record", async () => {
    const exporter = exporterWith();
    const health = await exporter.healthCheck();
    expect(health).toEqual({
      healthy: true,
      status: 200,
      message: `Datadog accepted the API key at ${server.url}/api/v1/validate`,
    });
    expect(server.requests.map((r) => [r.method, r.path])).toEqual([["GET", "/api/v1/validate"]]);
    expect(server.requests[0]!.headers["dd-api-key"]).toBe(TEST_API_KEY);
    await exporter.close();
    expect(exporter.stats().received).toBe(0);
  });

  it("says the key is refused, without the key", async () => {
    const key = "badbadbadbadbadbadbadbadbadbad00";
    const exporter = exporterWith({ apiKey: key });
    const health = await exporter.healthCheck();
    expect(health).toMatchObject({ healthy: false, problem: "api-key", status: 403 });
    expect(health.message).toMatch(/refused the API key \(HTTP 403\)/);
    expect(JSON.stringify(health)).not.toContain(key);
    await exporter.close();
  });

  it("says an unexpected answer is unexpected, and scrubs the key from its excerpt", async () => {
    server.fail({ status: 500, body: `oops ${TEST_API_KEY}` });
    const exporter = exporterWith();
    const health = await exporter.healthCheck();
    expect(health).toMatchObject({ healthy: false, problem: "unexpected", status: 500 });
    expect(health.message).toContain("[REDACTED]");
    expect(health.message).not.toContain(TEST_API_KEY);
    await exporter.close();
  });

  it("says unreachable when nobody listens or nobody answers in time", async () => {
    server.fail({ hang: true });
    const slow = exporterWith({ timeoutMs: 100 });
    expect(await slow.healthCheck()).toMatchObject({ healthy: false, problem: "unreachable" });
    await slow.close();
    const url = server.url;
    await server.close();
    const nobody = exporterWith({ url });
    const health = await nobody.healthCheck();
    expect(health).toMatchObject({ healthy: false, problem: "unreachable" });
    expect(health.message).toMatch(/ECONNREFUSED/);
    await nobody.close();
    server = await startIntakeServer();
  });

  it("says tls when the certificate cannot be verified", async () => {
    const secure = await startIntakeServer({
      tls: {
        key: readFileSync(new URL("./fixtures/test-server-key.pem", import.meta.url)),
        cert: readFileSync(new URL("./fixtures/test-server-cert.pem", import.meta.url)),
      },
    });
    try {
      const exporter = exporterWith({ url: secure.url });
      expect(await exporter.healthCheck()).toMatchObject({ healthy: false, problem: "tls" });
      await exporter.close();
    } finally {
      await secure.close();
    }
  });

  it.each(Object.keys(DATADOG_SITES))("asks https://api.%s/api/v1/validate", async (site) => {
    const dispatcher = new ForwardingDispatcher(server.url);
    const exporter = new DatadogLogExporter({ apiKey: TEST_API_KEY, site, dispatcher });
    expect((await exporter.healthCheck()).healthy).toBe(true);
    expect(dispatcher.seen).toEqual([`https://api.${site}/api/v1/validate`]);
    await exporter.close();
    await dispatcher.close();
  });
});

describe("healthCheck() after close()", () => {
  it("opens no socket and says the exporter is closed", async () => {
    const exporter = exporterWith();
    await exporter.close();
    const health = await exporter.healthCheck();
    expect(health).toMatchObject({ healthy: false, problem: "unreachable" });
    expect(health.message).toMatch(/the exporter is closed/);
    expect(server.counters().requests).toBe(0);
  });
});
