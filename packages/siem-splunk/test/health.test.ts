import { afterEach, describe, expect, it } from "vitest";
import { SplunkHecExporter } from "../src/index.js";
import { DEFAULT_TOKEN, type HecServerOptions, HecTestServer } from "./support/hec-server.js";

let server: HecTestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function check(
  serverOptions: HecServerOptions,
  options: { token?: string; ack?: boolean; path?: string } = {},
) {
  server = await HecTestServer.start(serverOptions);
  const exporter = new SplunkHecExporter({
    url: server.url + (options.path ?? ""),
    token: options.token ?? DEFAULT_TOKEN,
    ack: options.ack ?? false,
    timeoutMs: 500,
  });
  const health = await exporter.healthCheck();
  await exporter.close();
  return { health, server };
}

describe("healthCheck()", () => {
  it("reports a healthy HEC, asking /services/collector/health/1.0 with the token", async () => {
    const { health, server } = await check({});
    expect(health).toMatchObject({ healthy: true, status: 200, code: 17 });
    expect(health.problem).toBeUndefined();
    expect(health.message).toContain("healthy");
    const [request] = server.requests;
    expect(request).toMatchObject({ method: "GET", path: "/services/collector/health/1.0" });
    expect(request!.headers.authorization).toBe(`Splunk ${DEFAULT_TOKEN}`);
  });

  it.each([
    [18, "queues are full"],
    [19, "ack service unavailable"],
    [20, "queues are full, ack service unavailable"],
  ] as const)("reports code %i as unhealthy, in words", async (code, words) => {
    const { health } = await check({ health: () => code });
    expect(health).toMatchObject({ healthy: false, problem: "unhealthy", status: 503, code });
    expect(health.message).toContain(words);
  });

  it("reports a token HEC does not know", async () => {
    const { health } = await check({}, { token: "not-the-token" });
    expect(health).toMatchObject({ healthy: false, problem: "token", status: 400, code: 21 });
    expect(health.message).toContain("refused the token");
  });

  it("reports a disabled token", async () => {
    const { health } = await check({ tokens: { [DEFAULT_TOKEN]: { disabled: true } } });
    expect(health).toMatchObject({ healthy: false, problem: "token", code: 22 });
  });

  it("reports an unreachable HEC without throwing", async () => {
    server = await HecTestServer.start();
    const url = server.url;
    await server.stop();
    const exporter = new SplunkHecExporter({ url, token: DEFAULT_TOKEN });
    const health = await exporter.healthCheck();
    expect(health).toMatchObject({ healthy: false, problem: "unreachable" });
    expect(health.message).toContain("ECONNREFUSED");
    expect(health.message).toContain(url);
    await exporter.close();
  });

  it("reports something that is not HEC at the url", async () => {
    const { health } = await check({}, { path: "/not-hec" });
    expect(health).toMatchObject({ healthy: false, problem: "unexpected", status: 404 });
    expect(health.message).toContain("url");
  });

  it("with ack, reports a token without indexer acknowledgement", async () => {
    const { health } = await check({}, { ack: true });
    expect(health).toMatchObject({ healthy: false, problem: "ack", status: 400, code: 14 });
    expect(health.message).toContain("indexer acknowledgement");
  });

  it("with ack and a token that has it, is healthy", async () => {
    const { health } = await check({ tokens: { [DEFAULT_TOKEN]: { ack: true } } }, { ack: true });
    expect(health).toMatchObject({ healthy: true });
  });
});
