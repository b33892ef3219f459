import { afterEach, describe, expect, it } from "vitest";
import { SplunkHecExporter } from "../src/index.js";
import { AccountingWatch } from "./support/accounting.js";
import { DEFAULT_TOKEN, type Fault, HecTestServer } from "./support/hec-server.js";
import { makeRecords } from "./support/records.js";
import { seededRandom } from "./support/seeded-random.js";

let server: HecTestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const fast = { flushIntervalMs: 5, retry: { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 5 } };

async function withFault(fault: Fault) {
  const watch = new AccountingWatch();
  server = await HecTestServer.start({
    fault: () => {
      watch.check("server handler");
      return undefined;
    },
  });
  server.script(fault);
  const exporter = new SplunkHecExporter({
    url: server.url,
    token: DEFAULT_TOKEN,
    ...fast,
    timeoutMs: 200,
    onError: watch.onError,
  });
  watch.watch(() => exporter.stats());
  for (const record of makeRecords(5)) exporter.export(record);
  await exporter.close();
  return { exporter, watch, server };
}

describe("no answer", () => {
  it("a hang past timeoutMs is aborted and retried; what HEC had indexed arrives twice and is counted", async () => {
    const { exporter, watch, server } = await withFault({ kind: "hang", index: true });
    expect(server.eventRequests.map((r) => r.outcome)).toEqual(["hung", "indexed"]);
    expect(server.stats()).toMatchObject({ distinct: 5, duplicates: 5 });
    expect(exporter.stats()).toMatchObject({
      delivered: 5,
      failed: 0,
      retries: 1,
      pending: 0,
      resentUnanswered: 5,
    });
    expect(watch.errors).toEqual([]);
    expect(watch.problems).toEqual([]);
  });

  it("a hang before indexing: no duplicate, yet counted as a possible one", async () => {
    const { exporter, server } = await withFault({ kind: "hang", index: false });
    expect(server.stats()).toMatchObject({ distinct: 5, duplicates: 0 });
    expect(exporter.stats()).toMatchObject({ delivered: 5, resentUnanswered: 5 });
  });

  it("a reset socket is retried", async () => {
    const { exporter, watch, server } = await withFault({ kind: "reset", index: false });
    expect(server.eventRequests.map((r) => r.outcome)).toEqual(["reset", "indexed"]);
    expect(server.stats()).toMatchObject({ distinct: 5, duplicates: 0 });
    expect(exporter.stats()).toMatchObject({ delivered: 5, retries: 1, resentUnanswered: 5 });
    expect(watch.errors).toEqual([]);
  });

  it("a reset after indexing duplicates, and the duplicates are counted", async () => {
    const { exporter, server } = await withFault({ kind: "reset", index: true });
    expect(server.stats()).toMatchObject({ distinct: 5, duplicates: 5 });
    expect(exporter.stats().resentUnanswered).toBe(5);
  });

  it("connection refused is retried and cannot duplicate", async () => {
    const watch = new AccountingWatch();
    server = await HecTestServer.start();
    await server.stop();
    const exporter = new SplunkHecExporter({
      url: server.url,
      token: DEFAULT_TOKEN,
      flushIntervalMs: 5,
      retry: { maxAttempts: 100, initialDelayMs: 5, maxDelayMs: 20 },
      onError: watch.onError,
    });
    watch.watch(() => exporter.stats());
    for (const record of makeRecords(5)) exporter.export(record);
    while (exporter.stats().retries < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    await server.restart();
    await exporter.close();
    expect(server.stats()).toMatchObject({ distinct: 5, duplicates: 0 });
    expect(exporter.stats()).toMatchObject({ delivered: 5, resentUnanswered: 0 });
    expect(watch.errors).toEqual([]);
  });
});

describe("an outage longer than the queue", () => {
  it("drops the overflow, reports it at once, and delivers the queue when HEC is back", async () => {
    const watch = new AccountingWatch();
    server = await HecTestServer.start();
    await server.stop();
    const exporter = new SplunkHecExporter({
      url: server.url,
      token: DEFAULT_TOKEN,
      maxQueueSize: 20,
      batchSize: 5,
      flushIntervalMs: 5,
      retry: { maxAttempts: 1000, initialDelayMs: 5, maxDelayMs: 20 },
      onError: watch.onError,
    });
    watch.watch(() => exporter.stats());
    const records = makeRecords(50);
    for (const record of records) {
      exporter.export(record);
      watch.check("after export");
    }
    await new Promise((resolve) => setImmediate(resolve));
    // Reported in the same tick or the next: not held until HEC is back.
    expect(watch.reported("overflow")).toBe(30);
    expect(exporter.stats()).toMatchObject({
      received: 50,
      dropped: 30,
      pending: 20,
      delivered: 0,
    });

    while (exporter.stats().retries < 5) await new Promise((resolve) => setTimeout(resolve, 5));
    await server.restart();
    await exporter.close();
    watch.check("after close");

    const dropped = new Set(
      watch.errors
        .filter((e) => e.reason === "overflow")
        .flatMap((e) => e.records.map((r) => r.eventId)),
    );
    expect(dropped).toEqual(new Set(records.slice(20).map((r) => r.eventId)));
    expect(new Set(server.counts.keys())).toEqual(
      new Set(records.slice(0, 20).map((r) => r.eventId)),
    );
    expect(exporter.stats()).toMatchObject({
      received: 50,
      delivered: 20,
      dropped: 30,
      failed: 0,
      pending: 0,
    });
    expect(watch.problems).toEqual([]);
  });
});

describe("10,000 records through random faults", () => {
  it("arrive with none missing; every duplicate is one the exporter counted", async () => {
    const random = seededRandom(20241204);
    // Every unanswered request is indexed first, so that each record the
    // exporter must send again (it cannot know) really is a duplicate; hangs
    // are few because each costs a timeout.
    let hangs = 0;
    const refused = new Set(["evt-997", "evt-4242", "evt-8191"]);
    const watch = new AccountingWatch();
    server = await HecTestServer.start({
      maxContentLength: 48_000,
      refuseEvent: (event) =>
        refused.has((event.event as { event_id: string }).event_id) ? { code: 6 } : undefined,
      fault: () => {
        watch.check("server handler");
        const roll = random();
        if (roll < 0.08) return { kind: "answer", status: 503, code: 9, retryAfter: "0" };
        if (roll < 0.12) return { kind: "answer", status: 500, code: 8 };
        if (roll < 0.15) return { kind: "answer", status: 429 };
        if (roll < 0.17) return { kind: "answer", status: 503, code: 18 };
        if (roll < 0.2) return { kind: "reset", index: true };
        if (roll < 0.22 && hangs < 3) {
          hangs++;
          return { kind: "hang", index: true };
        }
        if (roll < 0.25) return { kind: "delay", ms: 20 };
        return undefined;
      },
    });
    const exporter = new SplunkHecExporter({
      url: server.url,
      token: DEFAULT_TOKEN,
      batchSize: 100,
      concurrency: 4,
      flushIntervalMs: 5,
      timeoutMs: 1000,
      retry: { maxAttempts: 100, initialDelayMs: 1, maxDelayMs: 10 },
      onError: watch.onError,
    });
    watch.watch(() => exporter.stats());
    const records = makeRecords(10_000);
    for (const [i, record] of records.entries()) {
      exporter.export(record);
      if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await exporter.close();
    watch.check("after close");

    const stats = exporter.stats();
    const serverStats = server.stats();
    // None missing: every record arrived but the three HEC refused.
    expect(serverStats.distinct).toBe(10_000 - refused.size);
    for (const record of records) {
      if (!refused.has(record.eventId))
        expect(server.counts.get(record.eventId)).toBeGreaterThan(0);
    }
    expect(stats).toMatchObject({
      received: 10_000,
      delivered: 9_997,
      failed: 3,
      dropped: 0,
      pending: 0,
    });
    expect(new Set(watch.errors.flatMap((e) => e.records.map((r) => r.eventId)))).toEqual(refused);
    expect(watch.errors.every((e) => e.reason === "rejected" && e.status === 400)).toBe(true);

    // Duplicates only where at-least-once makes them unavoidable: events HEC
    // indexed in requests it never answered, and events ahead of a refused
    // one (HEC does not say it indexed them, so they go again). The exporter
    // counted exactly the records it sent again after such a request.
    const unanswered = server.requests.filter((r) => r.outcome === "hung" || r.outcome === "reset");
    expect(unanswered.map((r) => r.outcome)).toContain("hung");
    expect(unanswered.map((r) => r.outcome)).toContain("reset");
    const unproven = server.requests.filter((r) => r.outcome === "refused" && r.code === 6);
    expect(unproven.length).toBeGreaterThanOrEqual(refused.size);
    expect(serverStats.duplicates).toBe(
      [...unanswered, ...unproven].reduce((sum, r) => sum + r.indexedCount, 0),
    );
    expect(stats.resentUnanswered + stats.resentUnacknowledged).toBe(serverStats.duplicates);
    expect(server.requests.some((r) => r.status === 413)).toBe(true);
    expect(watch.problems).toEqual([]);
    expect(server.problems).toEqual([]);
  });
});
