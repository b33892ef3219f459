import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SplunkHecExporter } from "../src/index.js";
import { AccountingWatch } from "./support/accounting.js";
import { DEFAULT_TOKEN, HecTestServer } from "./support/hec-server.js";
import { makeRecords } from "./support/records.js";

let server: HecTestServer | undefined;
let dir: string | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("core's durable spool through SplunkHecExporter", () => {
  it("keeps what HEC did not take across a restart of the exporter, and delivers it at the next start", async () => {
    dir = mkdtempSync(join(tmpdir(), "a1-splunk-spool-"));
    server = await HecTestServer.start();
    await server.stop();
    const options = {
      url: server.url,
      token: DEFAULT_TOKEN,
      flushIntervalMs: 5,
      retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
      spool: { dir, fsync: "always" as const },
    };
    const first = new AccountingWatch();
    const before = new SplunkHecExporter({ ...options, onError: first.onError });
    first.watch(() => before.stats());
    for (const record of makeRecords(5)) before.export(record);
    await before.close();
    first.check("after the first close");
    expect(before.stats()).toMatchObject({ received: 5, delivered: 0, retained: 5, pending: 0 });

    await server.restart();
    const second = new AccountingWatch();
    const after = new SplunkHecExporter({ ...options, onError: second.onError });
    second.watch(() => after.stats());
    await after.close();
    second.check("after the second close");
    expect(after.stats()).toMatchObject({ recovered: 5, delivered: 5, retained: 0, pending: 0 });
    expect(new Set(server.counts.keys())).toEqual(new Set(makeRecords(5).map((r) => r.eventId)));
    expect(first.problems).toEqual([]);
    expect(second.problems).toEqual([]);
    expect(second.errors).toEqual([]);
  });
});
