import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SplunkHecExporter } from "../src/index.js";
import { AccountingWatch } from "./support/accounting.js";
import { makeCertificates, type TestCertificates } from "./support/certificates.js";
import { DEFAULT_TOKEN, HecTestServer } from "./support/hec-server.js";
import { makeRecords } from "./support/records.js";

let certs: TestCertificates;
let server: HecTestServer | undefined;
let warnings: Error[] = [];
const onWarning = (warning: Error) => warnings.push(warning);
beforeAll(() => {
  certs = makeCertificates();
});
beforeEach(() => {
  warnings = [];
  process.on("warning", onWarning);
});
afterEach(async () => {
  process.off("warning", onWarning);
  await server?.close();
  server = undefined;
});

const fast = { flushIntervalMs: 5, retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5 } };

describe("TLS", () => {
  it("verifies the server's certificate by default: a CA it does not know fails clearly, without retries", async () => {
    server = await HecTestServer.start({ tls: { key: certs.serverKey, cert: certs.serverCert } });
    const watch = new AccountingWatch();
    const exporter = new SplunkHecExporter({
      url: server.url,
      token: DEFAULT_TOKEN,
      ...fast,
      onError: watch.onError,
    });
    for (const record of makeRecords(3)) exporter.export(record);
    await exporter.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(server.eventRequests).toHaveLength(0);
    expect(exporter.stats()).toMatchObject({ failed: 3, delivered: 0, retries: 0 });
    expect(watch.errors).toHaveLength(1);
    expect(watch.errors[0]!.reason).toBe("rejected");
    expect(watch.errors[0]!.message).toMatch(
      /TLS error \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\)/,
    );
    expect(watch.errors[0]!.message).toContain("tls.ca");
    const announced = warnings.filter((w) => w.name === "SplunkHecConfigurationWarning");
    expect(announced).toHaveLength(1);
  });

  it("a self-signed server certificate fails the same way", async () => {
    server = await HecTestServer.start({
      tls: { key: certs.selfSignedKey, cert: certs.selfSignedCert },
    });
    const watch = new AccountingWatch();
    const exporter = new SplunkHecExporter({
      url: server.url,
      token: DEFAULT_TOKEN,
      ...fast,
      onError: watch.onError,
    });
    exporter.export(makeRecords(1)[0]!);
    await exporter.close();
    expect(watch.errors[0]!.message).toMatch(/TLS error \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
    expect((await exporter.healthCheck()).problem).toBe("closed");
  });

  it("trusts a private CA given as tls.ca", async () => {
    server = await HecTestServer.start({ tls: { key: certs.serverKey, cert: certs.serverCert } });
    const exporter = new SplunkHecExporter({
      url: server.url,
      token: DEFAULT_TOKEN,
      tls: { ca: certs.ca },
      ...fast,
    });
    for (const record of makeRecords(3)) exporter.export(record);
    await exporter.close();
    expect(server.stats().distinct).toBe(3);
    expect(exporter.stats()).toMatchObject({ delivered: 3, failed: 0 });
  });

  it("skips verification only when asked with rejectUnauthorized: false", async () => {
    server = await HecTestServer.start({
      tls: { key: certs.selfSignedKey, cert: certs.selfSignedCert },
    });
    const exporter = new SplunkHecExporter({
      url: server.url,
      token: DEFAULT_TOKEN,
      tls: { rejectUnauthorized: false },
      ...fast,
    });
    for (const record of makeRecords(2)) exporter.export(record);
    await exporter.close();
    expect(exporter.stats()).toMatchObject({ delivered: 2 });
  });

  it("presents a client certificate for mutual TLS (tls.cert, tls.key)", async () => {
    server = await HecTestServer.start({
      tls: { key: certs.serverKey, cert: certs.serverCert, clientCa: certs.ca },
    });
    const withCert = new SplunkHecExporter({
      url: server.url,
      token: DEFAULT_TOKEN,
      tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey },
      ...fast,
    });
    withCert.export(makeRecords(1)[0]!);
    await withCert.close();
    expect(withCert.stats().delivered).toBe(1);

    const watch = new AccountingWatch();
    const without = new SplunkHecExporter({
      url: server.url,
      token: DEFAULT_TOKEN,
      tls: { ca: certs.ca },
      ...fast,
      onError: watch.onError,
    });
    without.export(makeRecords(1, 1)[0]!);
    await without.close();
    expect(without.stats()).toMatchObject({ delivered: 0, failed: 1 });
    expect(server.stats().distinct).toBe(1);
  });

  it("healthCheck names a TLS problem as such", async () => {
    server = await HecTestServer.start({ tls: { key: certs.serverKey, cert: certs.serverCert } });
    const untrusting = new SplunkHecExporter({ url: server.url, token: DEFAULT_TOKEN });
    const health = await untrusting.healthCheck();
    expect(health).toMatchObject({ healthy: false, problem: "tls" });
    expect(health.message).toContain("tls.ca");
    await untrusting.close();
    const trusting = new SplunkHecExporter({
      url: server.url,
      token: DEFAULT_TOKEN,
      tls: { ca: certs.ca },
    });
    expect(await trusting.healthCheck()).toMatchObject({ healthy: true, status: 200, code: 17 });
    await trusting.close();
  });
});
