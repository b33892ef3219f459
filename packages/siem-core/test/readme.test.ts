import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runNode } from "@a1/siem-testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BufferedExporter, DeliveryOptions, ExportError } from "../src/index.js";
import { compiledCoreUrl } from "./helpers/compiled-core.js";
import { makeRecord, makeRecords } from "./helpers/records.js";
import { expectBalanced } from "./helpers/scripted-backend.js";

// The README's examples are code users copy: run them as they are written,
// with only the package specifier pointed at this checkout.

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

function example(name: string): string {
  const marker = `<!-- readme-example: ${name} `;
  const at = readme.indexOf(marker);
  expect(at, `README example "${name}"`).toBeGreaterThanOrEqual(0);
  const fence = readme.indexOf("```", at);
  const start = readme.indexOf("\n", fence) + 1;
  const end = readme.indexOf("\n```", start);
  return readme.slice(start, end + 1);
}

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "a1-siem-core-readme-"));
});
afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe("README", () => {
  it("the minimal example runs with node and delivers both records", async () => {
    const coreUrl = await compiledCoreUrl();
    const file = join(scratch, "example.mjs");
    await writeFile(
      file,
      example("quick-start").replaceAll('"@a1/siem-core"', JSON.stringify(coreUrl)),
    );
    const { exitCode: code, stdout, stderr } = await runNode([file]);
    expect(stderr).toContain(
      '{"received":2,"delivered":2,"failed":0,"dropped":0,"pending":0,"retries":0}',
    );
    expect(code).toBe(0);
    const lines = stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines.map((line) => line.outcome)).toEqual(["DENIED", "AUTHORIZED"]);
    expect(lines[1].trace_id).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
  });

  describe("the backend example, against an NDJSON-over-HTTP server on 127.0.0.1", () => {
    const token = "tok_live_9f8e7d6c5b4a";
    let server: Server;
    let url: string;
    let HttpNdjsonExporter: new (
      options: DeliveryOptions & { url: string; token: string },
    ) => BufferedExporter;
    const received: Record<string, unknown>[] = [];
    const requests: { lines: number; authorization: string | undefined; status: number }[] = [];
    let answers: ((lines: string[]) => [number, Record<string, string>, string] | undefined)[] = [];

    beforeAll(async () => {
      // Load the README's TypeScript as written (vitest compiles it), importing this checkout's src.
      const file = join(scratch, "http-ndjson-exporter.ts");
      const srcUrl = pathToFileURL(fileURLToPath(new URL("../src/index.ts", import.meta.url))).href;
      await writeFile(
        file,
        example("backend").replaceAll('"@a1/siem-core"', JSON.stringify(srcUrl)),
      );
      ({ HttpNdjsonExporter } = await import(pathToFileURL(file).href));

      server = createServer((request: IncomingMessage, response: ServerResponse) => {
        let body = "";
        request.setEncoding("utf8");
        request.on("data", (chunk: string) => {
          body += chunk;
        });
        request.on("end", () => {
          const lines = body.split("\n").filter((line) => line !== "");
          const scripted = answers.shift()?.(lines) ?? ([200, {}, '{"ok":true}'] as const);
          const [status, headers, text] = scripted;
          requests.push({
            lines: lines.length,
            authorization: request.headers.authorization,
            status,
          });
          if (status === 200) for (const line of lines) received.push(JSON.parse(line));
          response.writeHead(status, { "content-type": "application/json", ...headers });
          response.end(text);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ingest`;
    });

    afterAll(async () => {
      await new Promise((resolve) => server?.close(resolve));
    });

    it("delivers, retries a 503 honouring Retry-After, splits a 413 and reports a 400 without the token", async () => {
      received.length = 0;
      requests.length = 0;
      answers = [
        () => [503, { "retry-after": "0" }, '{"error":"busy"}'],
        (lines) => (lines.length > 2 ? [413, {}, "too large"] : undefined),
        (lines) => (lines.length > 2 ? [413, {}, "too large"] : undefined),
      ];
      const errors: ExportError[] = [];
      const exporter = new HttpNdjsonExporter({
        url,
        token,
        batchSize: 4,
        flushIntervalMs: 60_000,
        retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
        onError: (error) => errors.push(error),
      });
      const records = makeRecords(4);
      for (const record of records) exporter.export(record);
      await exporter.flush();
      // 503 → retry (4 lines) → 413 → halves of 2 and 2.
      expect(requests.map((r) => [r.status, r.lines])).toEqual([
        [503, 4],
        [413, 4],
        [200, 2],
        [200, 2],
      ]);
      expect(requests.every((r) => r.authorization === `Bearer ${token}`)).toBe(true);
      expect(received.map((r) => r["event_id"])).toEqual(records.map((r) => r.eventId));
      expect(received[0]).toEqual(records[0]!.toDict());

      // A permanent refusal that echoes the token back: reported, never retried, token redacted.
      answers = [() => [400, {}, `{"error":"bad token ${token}"}`]];
      const bad = makeRecord();
      exporter.export(bad);
      await exporter.close();
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ reason: "rejected", status: 400 });
      expect(errors[0]!.records).toEqual([bad]);
      expect(errors[0]!.message).not.toContain(token);
      expect(JSON.stringify(exporter.stats())).not.toContain(token);
      expect(exporter.stats()).toMatchObject({ received: 5, delivered: 4, failed: 1, pending: 0 });
      expectBalanced(exporter.stats());
    });

    it("reports an unreachable endpoint as retries-exhausted", async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
      const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/ingest`;
      await new Promise((resolve) => closed.close(resolve));
      const errors: ExportError[] = [];
      const exporter = new HttpNdjsonExporter({
        url: deadUrl,
        token,
        flushIntervalMs: 60_000,
        retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
        onError: (error) => errors.push(error),
      });
      exporter.export(makeRecord());
      await exporter.close();
      expect(errors.map((e) => e.reason)).toEqual(["retries-exhausted"]);
      expect(errors[0]!.message).toMatch(/network error/);
      expect(exporter.stats()).toMatchObject({ failed: 1, retries: 1, pending: 0 });
    });
  });
});
