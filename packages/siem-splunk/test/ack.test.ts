import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SplunkHecExporter, type SplunkHecExporterOptions } from "../src/index.js";
import { AccountingWatch } from "./support/accounting.js";
import {
  type AckPlan,
  DEFAULT_TOKEN,
  type HecServerOptions,
  HecTestServer,
} from "./support/hec-server.js";
import { makeRecords } from "./support/records.js";
import { seededRandom } from "./support/seeded-random.js";

let server: HecTestServer | undefined;
let warnings: Error[] = [];
const onWarning = (warning: Error) => warnings.push(warning);
beforeEach(() => {
  warnings = [];
  process.on("warning", onWarning);
});
afterEach(async () => {
  process.off("warning", onWarning);
  await server?.close();
  server = undefined;
});

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ackToken = { [DEFAULT_TOKEN]: { ack: true } };
const until = async (condition: () => boolean): Promise<void> => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 2));
};

async function start(
  serverOptions: HecServerOptions,
  options: Partial<SplunkHecExporterOptions> = {},
) {
  const watch = new AccountingWatch();
  server = await HecTestServer.start({ tokens: ackToken, ...serverOptions });
  const exporter = new SplunkHecExporter({
    url: server.url,
    token: DEFAULT_TOKEN,
    ack: { pollIntervalMs: 5, timeoutMs: 5_000 },
    flushIntervalMs: 5,
    retry: { maxAttempts: 10, initialDelayMs: 1, maxDelayMs: 5 },
    onError: watch.onError,
    ...options,
  });
  watch.watch(() => exporter.stats());
  return { exporter, watch, server };
}

const ackPolls = (s: HecTestServer) =>
  s.requests.filter((r) => r.path === "/services/collector/ack");

describe("indexer acknowledgement", () => {
  it("counts records delivered only once Splunk acknowledges them, polling all batches in one request", async () => {
    const { exporter, watch, server } = await start(
      { ack: () => ({ delayMs: Number.POSITIVE_INFINITY }) },
      { batchSize: 2, concurrency: 3 },
    );
    for (const record of makeRecords(6)) exporter.export(record);
    // HEC has indexed everything, but acknowledged nothing yet.
    await until(() => server.stats().indexed === 6 && ackPolls(server).length >= 3);
    expect(exporter.stats()).toMatchObject({ received: 6, delivered: 0, pending: 6 });
    watch.check("waiting for acks");

    server.releaseAcks();
    await exporter.flush();
    expect(exporter.stats()).toMatchObject({ delivered: 6, pending: 0, resentUnacknowledged: 0 });

    const events = server.eventRequests;
    expect(events).toHaveLength(3);
    const channel = events[0]!.headers["x-splunk-request-channel"];
    expect(channel).toMatch(GUID);
    for (const request of [...events, ...ackPolls(server)]) {
      expect(request.headers["x-splunk-request-channel"]).toBe(channel);
      expect(request.headers.authorization).toBe(`Splunk ${DEFAULT_TOKEN}`);
    }
    // One poll asks about every batch waiting: ackIds 0, 1 and 2 together.
    const bodies = ackPolls(server).map(
      (r) => JSON.parse(r.raw.toString("utf8")) as { acks: number[] },
    );
    expect(bodies.some((body) => [...body.acks].sort().join() === "0,1,2")).toBe(true);
    await exporter.close();
    expect(server.stats()).toMatchObject({ distinct: 6, duplicates: 0 });
    expect(watch.errors).toEqual([]);
    expect(watch.problems).toEqual([]);
  });

  it("late acknowledgements (after several polls said false) deliver without a resend", async () => {
    const { exporter, watch, server } = await start({ ack: () => ({ delayMs: 60 }) });
    for (const record of makeRecords(5)) exporter.export(record);
    await exporter.close();
    const answers = ackPolls(server).map((r) => r.status);
    expect(answers.length).toBeGreaterThanOrEqual(2);
    expect(server.eventRequests).toHaveLength(1);
    expect(server.stats()).toMatchObject({ distinct: 5, duplicates: 0 });
    expect(exporter.stats()).toMatchObject({ delivered: 5, retries: 0, resentUnacknowledged: 0 });
    expect(watch.errors).toEqual([]);
  });

  it("acknowledgements that never come: the batch is sent again after ack.timeoutMs, and the duplicates are counted", async () => {
    const plans: AckPlan[] = [{ delayMs: Number.POSITIVE_INFINITY }, { delayMs: 0 }];
    const { exporter, watch, server } = await start(
      { ack: (ackId) => plans[Math.min(ackId, 1)]! },
      { ack: { pollIntervalMs: 5, timeoutMs: 100 } },
    );
    for (const record of makeRecords(5)) exporter.export(record);
    await exporter.close();
    expect(server.eventRequests).toHaveLength(2);
    // Splunk had indexed the first copy without saying so: each record twice.
    expect(server.stats()).toMatchObject({ distinct: 5, duplicates: 5 });
    expect(exporter.stats()).toMatchObject({
      delivered: 5,
      failed: 0,
      retries: 1,
      pending: 0,
      resentUnacknowledged: 5,
    });
    expect(watch.errors).toEqual([]);
    expect(watch.problems).toEqual([]);
  });

  it("a request that hangs is cut at timeoutMs, not at the (much longer) ack timeout", async () => {
    // Were the request bounded only by the engine's attempt limit (which covers
    // the ack wait), this test would outlive vitest's 60 s limit.
    const { exporter, server } = await start(
      {},
      { timeoutMs: 200, ack: { pollIntervalMs: 5, timeoutMs: 120_000 } },
    );
    server.script({ kind: "hang", index: true });
    for (const record of makeRecords(5)) exporter.export(record);
    await exporter.close();
    expect(server.eventRequests.map((r) => r.outcome)).toEqual(["hung", "indexed"]);
    expect(server.stats()).toMatchObject({ distinct: 5, duplicates: 5 });
    expect(exporter.stats()).toMatchObject({
      delivered: 5,
      resentUnanswered: 5,
      resentUnacknowledged: 0,
    });
  });

  it("a batch lost before indexing is sent again and arrives once", async () => {
    const { exporter, server } = await start(
      { ack: (ackId) => (ackId === 0 ? { delayMs: 0, lost: true } : { delayMs: 0 }) },
      { ack: { pollIntervalMs: 5, timeoutMs: 100 } },
    );
    for (const record of makeRecords(5)) exporter.export(record);
    await exporter.close();
    expect(server.stats()).toMatchObject({ distinct: 5, duplicates: 0 });
    expect(exporter.stats()).toMatchObject({ delivered: 5, resentUnacknowledged: 5 });
  });

  it("reports the batch failed when no attempt is ever acknowledged", async () => {
    const { exporter, watch } = await start(
      { ack: () => ({ delayMs: Number.POSITIVE_INFINITY }) },
      {
        ack: { pollIntervalMs: 5, timeoutMs: 30 },
        retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
      },
    );
    for (const record of makeRecords(3)) exporter.export(record);
    await exporter.close();
    expect(exporter.stats()).toMatchObject({
      delivered: 0,
      failed: 3,
      pending: 0,
      resentUnacknowledged: 3,
    });
    expect(watch.errors).toHaveLength(1);
    expect(watch.errors[0]!.reason).toBe("retries-exhausted");
    expect(watch.errors[0]!.message).toContain("did not acknowledge");
  });

  it.each<[string, number | undefined, number]>([
    ["the default ack.maxResends (2)", undefined, 2],
    ["ack.maxResends: 0", 0, 0],
    ["ack.maxResends: 4", 4, 4],
  ])(
    "acknowledgements that never come: close() settles after maxResends + 1 attempts with %s, not retry.maxAttempts",
    async (_, maxResends, resends) => {
      const { exporter, watch, server } = await start(
        { ack: () => ({ delayMs: Number.POSITIVE_INFINITY }) },
        {
          ack: {
            pollIntervalMs: 5,
            timeoutMs: 30,
            ...(maxResends === undefined ? {} : { maxResends }),
          },
          // Far more attempts than acknowledgements are waited for.
          retry: { maxAttempts: 20, initialDelayMs: 1, maxDelayMs: 1 },
        },
      );
      for (const record of makeRecords(3)) exporter.export(record);
      await exporter.close();
      // Attempts counted at the server: the first send and `resends` more, each polled for.
      expect(server.stats().requests).toBe(resends + 1);
      expect(server.stats().ackPolls).toBeGreaterThanOrEqual(resends + 1);
      expect(server.stats()).toMatchObject({ distinct: 3, duplicates: 3 * resends });
      expect(exporter.stats()).toMatchObject({
        delivered: 0,
        failed: 3,
        pending: 0,
        retries: resends,
        resentUnacknowledged: 3 * resends,
      });
      expect(watch.errors).toHaveLength(1);
      expect(watch.errors[0]!.reason).toBe("rejected");
      expect(watch.errors[0]!.records.map((r) => r.eventId)).toEqual(["evt-0", "evt-1", "evt-2"]);
      expect(watch.errors[0]!.message).toContain("never acknowledged");
      expect(watch.errors[0]!.message).toContain(`after ${resends} resend(s)`);
      expect(watch.problems).toEqual([]);
    },
  );

  it("an acknowledgement that comes on the last allowed resend delivers", async () => {
    const { exporter, watch, server } = await start(
      { ack: (ackId) => ({ delayMs: ackId < 2 ? Number.POSITIVE_INFINITY : 0 }) },
      { ack: { pollIntervalMs: 5, timeoutMs: 30, maxResends: 2 } },
    );
    for (const record of makeRecords(3)) exporter.export(record);
    await exporter.close();
    expect(server.stats()).toMatchObject({ requests: 3, distinct: 3, duplicates: 6 });
    expect(exporter.stats()).toMatchObject({
      delivered: 3,
      failed: 0,
      resentUnacknowledged: 6,
    });
    expect(watch.errors).toEqual([]);
  });

  it("a refused event: the events HEC took before it are not proven indexed, so they are sent again and counted", async () => {
    const { exporter, watch, server } = await start({
      refuseEvent: (event) =>
        (event.event as { event_id: string }).event_id === "evt-2" ? { code: 6 } : undefined,
    });
    for (const record of makeRecords(4)) exporter.export(record);
    await exporter.close();
    expect(watch.errors.map((e) => e.records.map((r) => r.eventId))).toEqual([["evt-2"]]);
    expect(server.stats()).toMatchObject({ distinct: 3, duplicates: 2 });
    expect(exporter.stats()).toMatchObject({ delivered: 3, failed: 1, resentUnacknowledged: 2 });
  });

  it("a token without acknowledgement: delivered on HEC's answer, counted, and announced once", async () => {
    const { exporter, watch, server } = await start(
      { tokens: { [DEFAULT_TOKEN]: {} } },
      { batchSize: 2 },
    );
    for (const record of makeRecords(4)) exporter.export(record);
    await exporter.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(server.stats().distinct).toBe(4);
    expect(exporter.stats()).toMatchObject({ delivered: 4, deliveredWithoutAck: 4 });
    expect(watch.errors).toEqual([]);
    const announced = warnings.filter((w) => w.name === "SplunkHecConfigurationWarning");
    expect(announced).toHaveLength(1);
    expect(announced[0]!.message).toContain("indexer acknowledgement");
  });

  it("a token that requires acknowledgement, without the ack option: code 10, a configuration error", async () => {
    const { exporter, watch } = await start({}, { ack: false });
    for (const record of makeRecords(2)) exporter.export(record);
    await exporter.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(watch.errors[0]).toMatchObject({ reason: "rejected", status: 400 });
    expect(watch.errors[0]!.message).toContain("pass ack: true");
    expect(exporter.stats()).toMatchObject({ failed: 2 });
  });

  it("5,000 records through random acknowledgements and faults arrive, duplicates counted exactly", async () => {
    const random = seededRandom(7);
    const watch = new AccountingWatch();
    server = await HecTestServer.start({
      tokens: ackToken,
      ack: () => {
        const roll = random();
        if (roll < 0.1) return { delayMs: Number.POSITIVE_INFINITY }; // indexed, never acknowledged
        if (roll < 0.15) return { delayMs: 0, lost: true };
        return { delayMs: Math.floor(random() * 30) };
      },
      fault: () => {
        watch.check("server handler");
        const roll = random();
        if (roll < 0.1) return { kind: "answer", status: 503, code: 9 };
        if (roll < 0.15) return { kind: "answer", status: 503, code: 19 };
        return undefined;
      },
    });
    const exporter = new SplunkHecExporter({
      url: server.url,
      token: DEFAULT_TOKEN,
      // 15 % of attempts go unacknowledged: allow enough resends that no batch gives up.
      ack: { pollIntervalMs: 5, timeoutMs: 400, maxResends: 20 },
      batchSize: 100,
      flushIntervalMs: 5,
      retry: { maxAttempts: 50, initialDelayMs: 1, maxDelayMs: 5 },
      onError: watch.onError,
    });
    watch.watch(() => exporter.stats());
    const records = makeRecords(5_000);
    for (const record of records) exporter.export(record);
    await exporter.close();
    watch.check("after close");

    const stats = exporter.stats();
    const serverStats = server.stats();
    expect(serverStats.distinct).toBe(5_000);
    expect(stats).toMatchObject({
      received: 5_000,
      delivered: 5_000,
      failed: 0,
      dropped: 0,
      pending: 0,
    });
    // Each record sent again for want of an ack is either a duplicate (its
    // first copy was indexed) or the only copy (its first batch was lost).
    const lostEvents = server.eventRequests
      .filter((r) => r.outcome === "indexed" && r.indexedCount === 0)
      .reduce((sum, r) => sum + r.events.length, 0);
    expect(stats.resentUnacknowledged).toBeGreaterThan(0);
    expect(serverStats.duplicates).toBe(stats.resentUnacknowledged - lostEvents);
    expect(watch.errors).toEqual([]);
    expect(watch.problems).toEqual([]);
    expect(server.problems).toEqual([]);
  });
});
