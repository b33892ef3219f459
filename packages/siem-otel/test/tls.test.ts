// HTTPS receivers: a private CA through the tls option or
// OTEL_EXPORTER_OTLP_CERTIFICATE, mutual TLS through the client certificate
// variables, and an untrusted certificate, which no retry can fix.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ExportError } from "@a1/siem-core";
import { afterAll, afterEach, beforeAll, expect, test, vi } from "vitest";
import { OpenTelemetryExporter } from "../src/index.js";
import { FAST } from "./support/harness.js";
import { OtlpTestServer } from "./support/otlp-server.js";
import { manyRecords } from "./support/records.js";

// Test-only certificates (valid 2000-2125): a server certificate for
// 127.0.0.1 and a client certificate, each self-signed.
const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
const serverCert = readFileSync(fixture("server-cert.pem"));
const serverKey = readFileSync(fixture("server-key.pem"));
const clientCert = readFileSync(fixture("client-cert.pem"));

let https: OtlpTestServer;
let mutual: OtlpTestServer;
beforeAll(async () => {
  https = await OtlpTestServer.start({ tls: { key: serverKey, cert: serverCert } });
  mutual = await OtlpTestServer.start({
    tls: { key: serverKey, cert: serverCert, clientCa: clientCert },
  });
});
afterEach(() => {
  vi.unstubAllEnvs();
});
afterAll(async () => {
  await https.close();
  await mutual.close();
});

async function send(options: ConstructorParameters<typeof OpenTelemetryExporter>[0]) {
  const errors: ExportError[] = [];
  const exporter = new OpenTelemetryExporter({
    ...FAST,
    onError: (e) => errors.push(e),
    ...options,
  });
  exporter.export(manyRecords(1)[0]!);
  await exporter.close();
  return { stats: exporter.stats(), errors };
}

test("a private CA given as tls.ca is trusted", async () => {
  const { stats, errors } = await send({ endpoint: https.endpoint, tls: { ca: serverCert } });
  expect(errors).toEqual([]);
  expect(stats.delivered).toBe(1);
  expect(https.requests.at(-1)!.recordCount).toBe(1);
});

test("OTEL_EXPORTER_OTLP_CERTIFICATE names the CA file", async () => {
  vi.stubEnv("OTEL_EXPORTER_OTLP_CERTIFICATE", fileURLToPath(fixture("server-cert.pem")));
  const { stats, errors } = await send({ endpoint: https.endpoint });
  expect(errors).toEqual([]);
  expect(stats.delivered).toBe(1);
});

test("an untrusted certificate fails at once, as rejected: no retry will fix it", async () => {
  const before = https.totals.requests;
  const { stats, errors } = await send({ endpoint: https.endpoint });
  expect(stats).toMatchObject({ delivered: 0, failed: 1, retries: 0 });
  expect(errors).toHaveLength(1);
  expect(errors[0]!.reason).toBe("rejected");
  expect(errors[0]!.message).toMatch(/TLS error/);
  expect(https.totals.requests).toBe(before);
});

test("mutual TLS: the client certificate and key from OTEL_EXPORTER_OTLP_LOGS_CLIENT_*", async () => {
  vi.stubEnv("OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE", fileURLToPath(fixture("server-cert.pem")));
  vi.stubEnv(
    "OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE",
    fileURLToPath(fixture("client-cert.pem")),
  );
  vi.stubEnv("OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY", fileURLToPath(fixture("client-key.pem")));
  const { stats, errors } = await send({ endpoint: mutual.endpoint });
  expect(errors).toEqual([]);
  expect(stats.delivered).toBe(1);
  expect(mutual.requests.at(-1)!.clientCertificate).toBe("a1-audit-client");
});

test("a certificate variable naming a missing file is a clear construction error", () => {
  vi.stubEnv("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem");
  expect(() => new OpenTelemetryExporter({ endpoint: https.endpoint })).toThrow(
    "OTEL_EXPORTER_OTLP_(LOGS_)CERTIFICATE: cannot read the file it names (ENOENT)",
  );
});
