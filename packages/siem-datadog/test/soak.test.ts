import type { ExportError } from "@a1/siem-core";
import { afterEach, describe, expect, it } from "vitest";
import { DatadogLogExporter } from "../src/index.js";
import {
  type Fault,
  type IntakeServer,
  startIntakeServer,
  TEST_API_KEY,
} from "./support/intake-server.js";
import { expectAccounting, makeRecords } from "./support/records.js";

let server: IntakeServer | undefined;
afterEach(async () => {
  await server?.close();
});

/** mulberry32: the same faults on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("10,000 records across faults", () => {
  it("all arrive, none missing, accounting exact throughout", async () => {
    const random = seeded(42);
    const faults: Fault[] = [
      { status: 500 },
      { status: 502 },
      { status: 503 },
      { status: 408 },
      { status: 429, headers: { "retry-after": "0" } },
      { reset: true },
      { hang: true },
    ];
    server = await startIntakeServer({
      // Smaller than one full batch of 1,000 entries: every full batch is split after a 413.
      maxPayloadBytes: 900_000,
      faults: () => (random() < 0.35 ? faults[Math.floor(random() * faults.length)] : undefined),
    });
    const errors: ExportError[] = [];
    const exporter = new DatadogLogExporter({
      apiKey: TEST_API_KEY,
      url: server.url,
      flushIntervalMs: 5,
      timeoutMs: 300,
      concurrency: 4,
      retry: { maxAttempts: 100, initialDelayMs: 1, maxDelayMs: 20 },
      onError: (error) => errors.push(error),
    });
    const records = makeRecords(10_000);
    for (let i = 0; i < records.length; i++) {
      exporter.export(records[i]!);
      if (i % 500 === 0) {
        expectAccounting(exporter.stats());
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    const watcher = setInterval(() => expectAccounting(exporter.stats()), 2);
    await exporter.close();
    clearInterval(watcher);

    const stats = exporter.stats();
    expect(errors).toEqual([]);
    expect(stats).toMatchObject({
      received: 10_000,
      delivered: 10_000,
      failed: 0,
      dropped: 0,
      pending: 0,
    });
    expect(stats.retries).toBeGreaterThan(0);
    for (const record of records) expect(server.eventIds.has(record.eventId)).toBe(true);
    const counters = server.counters();
    expect(counters.uniqueIds).toBe(10_000);
    expect(counters.statuses[413]).toBeGreaterThan(0);
    // Delivery is at least once: a request that the server accepted but whose
    // answer came after timeoutMs (a loaded machine) is sent again, so
    // duplicates are possible; losses are not.
    expect(counters.entries).toBe(10_000 + counters.duplicates);
  });
});
