import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ExportError } from "@a1/siem-core";
import { afterEach, describe, expect, it } from "vitest";
import { DatadogLogExporter } from "../src/index.js";
import { type IntakeServer, startIntakeServer, TEST_API_KEY } from "./support/intake-server.js";
import { makeRecords } from "./support/records.js";

let server: IntakeServer | undefined;
let dir: string | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("core's durable spool through DatadogLogExporter", () => {
  it("keeps what the intake did not take across a restart of the exporter, and delivers it at the next start", async () => {
    dir = mkdtempSync(join(tmpdir(), "a1-datadog-spool-"));
    server = await startIntakeServer();
    server.setOutage({ status: 503 });
    const errors: ExportError[] = [];
    const options = {
      apiKey: TEST_API_KEY,
      url: server.url,
      flushIntervalMs: 5,
      retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
      spool: { dir, fsync: "always" as const },
      onError: (error: ExportError) => errors.push(error),
    };
    const records = makeRecords(7);
    const before = new DatadogLogExporter(options);
    for (const record of records) before.export(record);
    await before.close();
    expect(before.stats()).toMatchObject({ received: 7, delivered: 0, retained: 7, pending: 0 });

    server.setOutage(undefined);
    const after = new DatadogLogExporter(options);
    await after.close();
    expect(after.stats()).toMatchObject({ recovered: 7, delivered: 7, retained: 0, pending: 0 });
    expect(server.entries.map((entry) => entry.event_id)).toEqual(
      records.map((record) => record.eventId),
    );
    expect(errors).toEqual([]);
  });
});
