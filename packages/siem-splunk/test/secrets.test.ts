import { inspect } from "node:util";
import type { ExportError } from "@a1/siem-core";
import fc from "fast-check";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SplunkHecExporter } from "../src/index.js";
import { makeCertificates, type TestCertificates } from "./support/certificates.js";
import { HecTestServer } from "./support/hec-server.js";
import { makeRecords } from "./support/records.js";

const TOKEN = "5ec2e7a1-7c3b-4d2e-9f10-abcdefabcdef";
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

/** Everything a log line could show of a value: message, stack, cause chain, inspected forms. */
function exposed(value: unknown): string {
  const parts: string[] = [
    inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
    inspect(value, { depth: Number.POSITIVE_INFINITY }),
    String(value),
  ];
  try {
    parts.push(JSON.stringify(value) ?? "");
  } catch {
    // cycles: the inspected forms cover it
  }
  for (let current = value, depth = 0; current && depth < 10; depth++) {
    const error = current as { message?: unknown; stack?: unknown; cause?: unknown };
    parts.push(String(error.message), String(error.stack));
    current = error.cause;
  }
  return parts.join("\n");
}

const fast = { flushIntervalMs: 5, retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2 } };

describe("the token never shows", () => {
  it("not in util.inspect of the exporter, nor in stats()", async () => {
    server = await HecTestServer.start({ tokens: { [TOKEN]: { ack: true } } });
    const exporter = new SplunkHecExporter({ url: server.url, token: TOKEN, ack: true, ...fast });
    exporter.export(makeRecords(1)[0]!);
    await exporter.flush();
    expect(exposed(exporter)).not.toContain(TOKEN);
    expect(JSON.stringify(exporter.stats())).not.toContain(TOKEN);
    expect(inspect(exporter.stats())).not.toContain(TOKEN);
    await exporter.close();
    expect(exposed(exporter)).not.toContain(TOKEN);
  });

  it("not in any error, cause chain, warning or health result, whatever goes wrong", async () => {
    server = await HecTestServer.start({ tokens: { [TOKEN]: {} } });
    const errors: ExportError[] = [];
    const exporter = new SplunkHecExporter({
      url: server.url,
      token: TOKEN,
      ...fast,
      timeoutMs: 100,
      batchSize: 1,
      concurrency: 1,
      onError: (error) => errors.push(error),
    });
    server.script(
      // A proxy or a HEC that echoes the credentials back in its answer.
      { kind: "answer", status: 403, code: 4, text: `Invalid token: Splunk ${TOKEN}` },
      { kind: "answer", status: 400, code: 6, text: `bad event for ${TOKEN}` },
      { kind: "answer", status: 301, headers: { location: `https://elsewhere/?token=${TOKEN}` } },
      { kind: "answer", status: 503, code: 9, text: `busy ${TOKEN}` },
      { kind: "answer", status: 503, code: 9, text: `busy ${TOKEN}` },
      { kind: "hang" },
      { kind: "hang" },
      { kind: "reset" },
      { kind: "reset" },
    );
    for (const record of makeRecords(6)) {
      exporter.export(record);
      await exporter.flush();
    }
    await server.stop();
    exporter.export(makeRecords(1, 10)[0]!); // connection refused
    await exporter.flush();
    const health = await exporter.healthCheck();
    await exporter.close();
    await new Promise((resolve) => setImmediate(resolve));

    expect(errors.map((e) => e.reason)).toEqual([
      "rejected",
      "rejected",
      "rejected",
      "retries-exhausted",
      "retries-exhausted",
      "retries-exhausted",
      "retries-exhausted",
    ]);
    expect(errors[0]!.message).toContain("[REDACTED]");
    for (const error of errors) expect(exposed(error)).not.toContain(TOKEN);
    expect(warnings.length).toBeGreaterThan(0);
    for (const warning of warnings) expect(exposed(warning)).not.toContain(TOKEN);
    expect(health.problem).toBe("unreachable");
    expect(exposed(health)).not.toContain(TOKEN);
  });

  it("not in the warnings made without onError", async () => {
    server = await HecTestServer.start({ tokens: { [TOKEN]: {} } });
    server.script({ kind: "answer", status: 400, code: 5, text: `no data ${TOKEN}` });
    const exporter = new SplunkHecExporter({ url: server.url, token: TOKEN, ...fast });
    exporter.export(makeRecords(1)[0]!);
    await exporter.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.some((w) => w.message.includes("rejected"))).toBe(true);
    for (const warning of warnings) expect(exposed(warning)).not.toContain(TOKEN);
  });

  it("not in a TLS failure", async () => {
    server = await HecTestServer.start({
      tokens: { [TOKEN]: {} },
      tls: { key: certs.serverKey, cert: certs.serverCert },
    });
    const errors: ExportError[] = [];
    const exporter = new SplunkHecExporter({
      url: server.url,
      token: TOKEN,
      ...fast,
      onError: (e) => errors.push(e),
    });
    exporter.export(makeRecords(1)[0]!);
    await exporter.close();
    expect(errors).toHaveLength(1);
    expect(exposed(errors[0])).not.toContain(TOKEN);
  });

  it("not in constructor errors", () => {
    const attempts: (() => unknown)[] = [
      () => new SplunkHecExporter({ url: `https://splunk:8088/?token=${TOKEN}`, token: TOKEN }),
      () => new SplunkHecExporter({ url: `https://x:${TOKEN}@splunk:8088`, token: TOKEN }),
      () => new SplunkHecExporter({ url: `not a url ${TOKEN}`, token: TOKEN }),
      () => new SplunkHecExporter({ url: "https://splunk:8088", token: `${TOKEN}\nX-Injected: 1` }),
      () => new SplunkHecExporter({ url: "https://splunk:8088", token: TOKEN, timeoutMs: -1 }),
    ];
    for (const attempt of attempts) {
      let thrown: unknown;
      try {
        attempt();
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(Error);
      expect(exposed(thrown)).not.toContain(TOKEN);
    }
  });
});

describe("a token with a character HTTP forbids in a header", () => {
  const construct = (token: string) => (): unknown =>
    new SplunkHecExporter({ url: "https://splunk:8088", token });

  it.each([
    ["a euro sign", `${TOKEN}€`],
    ["a zero-width space (U+200B)", `${TOKEN.slice(0, 8)}\u200b${TOKEN.slice(8)}`],
    ["a no-break space", `${TOKEN}\u00a0x`],
    ["a DEL", `${TOKEN}\u007f`],
  ])("is refused at construction when it holds %s, without echoing it", (_, token) => {
    let thrown: unknown;
    try {
      construct(token)();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as Error).message).toContain("cannot go in an HTTP header");
    expect(exposed(thrown)).not.toContain(TOKEN.slice(8));
  });

  it("any token outside visible ASCII is refused and never shown; any visible-ASCII token is taken", () => {
    const suffix = fc.string({
      unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
    });
    const forbidden = fc.oneof(
      fc.integer({ min: 0x80, max: 0xffff }).map((c) => String.fromCharCode(c)),
      fc.integer({ min: 0, max: 0x20 }).map((c) => String.fromCharCode(c)),
      fc.constantFrom("\u200b", "\u2060", "\ufeff", "€", "é", "\u007f"),
    );
    fc.assert(
      fc.property(suffix, forbidden, fc.nat(), (tail, bad, at) => {
        const token = TOKEN + tail;
        expect(construct(token)).not.toThrow();
        const where = 1 + (at % (token.length - 1));
        const tainted = token.slice(0, where) + bad + token.slice(where);
        let thrown: unknown;
        try {
          construct(tainted)();
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(TypeError);
        const shown = exposed(thrown);
        // Neither side of the bad character shows (the longer side is at least 18 characters).
        const longer = where >= token.length - where ? token.slice(0, where) : token.slice(where);
        expect(shown).not.toContain(longer);
      }),
      { numRuns: 200 },
    );
  });
});
