import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SplunkHecExporter, type SplunkHecExporterOptions } from "../src/index.js";
import { AccountingWatch } from "./support/accounting.js";
import {
  DEFAULT_TOKEN,
  type Fault,
  type HecServerOptions,
  HecTestServer,
} from "./support/hec-server.js";
import { makeRecord, makeRecords } from "./support/records.js";

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

const fast = { flushIntervalMs: 5, retry: { maxAttempts: 4, initialDelayMs: 1, maxDelayMs: 5 } };

async function run(
  faults: Fault[],
  options: Partial<SplunkHecExporterOptions> = {},
  serverOptions: HecServerOptions = {},
  count = 5,
) {
  const watch = new AccountingWatch();
  server = await HecTestServer.start({
    ...serverOptions,
    fault: () => {
      watch.check("server handler");
      return undefined;
    },
  });
  server.script(...faults);
  const exporter = new SplunkHecExporter({
    url: server.url,
    token: DEFAULT_TOKEN,
    ...fast,
    onError: watch.onError,
    ...options,
  });
  watch.watch(() => exporter.stats());
  const records = makeRecords(count);
  for (const record of records) exporter.export(record);
  await exporter.close();
  watch.check("after close");
  // process.emitWarning delivers on the next tick.
  await new Promise((resolve) => setImmediate(resolve));
  return { exporter, watch, records, server };
}

const configWarnings = () => warnings.filter((w) => w.name === "SplunkHecConfigurationWarning");

describe("retryable answers are retried until delivered", () => {
  it.each<[string, Fault]>([
    ["408 from a load balancer", { kind: "answer", status: 408 }],
    ["429 from a load balancer", { kind: "answer", status: 429 }],
    ["500 code 8 internal error", { kind: "answer", status: 500, code: 8 }],
    ["503 code 9 server busy", { kind: "answer", status: 503, code: 9 }],
    ["503 code 18 queues full", { kind: "answer", status: 503, code: 18 }],
    ["503 code 19 ack service unavailable", { kind: "answer", status: 503, code: 19 }],
    ["503 code 20 queues full and ack unavailable", { kind: "answer", status: 503, code: 20 }],
    [
      "502 from a proxy, as HTML",
      { kind: "answer", status: 502, body: "<html>Bad Gateway</html>" },
    ],
    ["504 from a proxy", { kind: "answer", status: 504 }],
  ])("%s", async (_, fault) => {
    const { exporter, watch, server } = await run([fault, fault]);
    expect(server.eventRequests.map((r) => r.status)).toEqual([
      fault.kind === "answer" ? fault.status : 0,
      fault.kind === "answer" ? fault.status : 0,
      200,
    ]);
    expect(server.stats()).toMatchObject({ distinct: 5, duplicates: 0 });
    expect(exporter.stats()).toMatchObject({
      received: 5,
      delivered: 5,
      failed: 0,
      retries: 2,
      pending: 0,
    });
    expect(watch.errors).toEqual([]);
    expect(watch.problems).toEqual([]);
  });

  it("reports retries-exhausted with the status once the attempts run out", async () => {
    const busy: Fault = { kind: "answer", status: 503, code: 9 };
    const { exporter, watch, server } = await run([busy, busy, busy, busy]);
    expect(server.eventRequests).toHaveLength(4);
    expect(server.stats().indexed).toBe(0);
    expect(exporter.stats()).toMatchObject({ received: 5, delivered: 0, failed: 5, retries: 3 });
    expect(watch.errors).toHaveLength(1);
    expect(watch.errors[0]).toMatchObject({ reason: "retries-exhausted", status: 503 });
    expect(watch.errors[0]!.message).toContain('code 9 "Server is busy"');
    expect(watch.errors[0]!.records.map((r) => r.eventId)).toEqual([
      "evt-0",
      "evt-1",
      "evt-2",
      "evt-3",
      "evt-4",
    ]);
  });
});

describe("permanent answers are rejected without a retry", () => {
  it.each<[string, Fault]>([
    ["400 code 5 no data", { kind: "answer", status: 400, code: 5 }],
    ["400 code 6 invalid data format, no event named", { kind: "answer", status: 400, code: 6 }],
    ["400 code 12 event field required", { kind: "answer", status: 400, code: 12 }],
    ["400 code 13 event field blank", { kind: "answer", status: 400, code: 13 }],
    ["400 code 15 indexed fields", { kind: "answer", status: 400, code: 15 }],
    ["400 code 16 query-string auth", { kind: "answer", status: 400, code: 16 }],
    ["405 method not allowed", { kind: "answer", status: 405 }],
    ["501 not implemented", { kind: "answer", status: 501 }],
  ])("%s", async (_, fault) => {
    const { exporter, watch, server } = await run([fault]);
    expect(server.eventRequests).toHaveLength(1);
    expect(exporter.stats()).toMatchObject({
      received: 5,
      delivered: 0,
      failed: 5,
      retries: 0,
      pending: 0,
    });
    expect(watch.errors).toHaveLength(1);
    const status = fault.kind === "answer" ? fault.status : 0;
    expect(watch.errors[0]).toMatchObject({ reason: "rejected", status, retryable: false });
    expect(watch.errors[0]!.records).toHaveLength(5);
    expect(configWarnings()).toEqual([]);
    expect(watch.problems).toEqual([]);
  });

  it.each<[string, Fault, string]>([
    ["401 code 2 token required", { kind: "answer", status: 401, code: 2 }, "token"],
    ["401 code 3 invalid authorization", { kind: "answer", status: 401, code: 3 }, "token"],
    ["403 code 1 token disabled", { kind: "answer", status: 403, code: 1 }, "token"],
    ["403 code 4 invalid token", { kind: "answer", status: 403, code: 4 }, "token"],
    ["400 code 21 invalid token", { kind: "answer", status: 400, code: 21 }, "token"],
    ["400 code 22 token disabled", { kind: "answer", status: 400, code: 22 }, "token"],
    ["400 code 7 incorrect index", { kind: "answer", status: 400, code: 7 }, "index"],
    [
      "400 code 10 data channel missing",
      { kind: "answer", status: 400, code: 10 },
      "acknowledgement",
    ],
    [
      "400 code 11 invalid data channel",
      { kind: "answer", status: 400, code: 11 },
      "acknowledgement",
    ],
    ["400 code 14 ACK disabled", { kind: "answer", status: 400, code: 14 }, "acknowledgement"],
    ["404 not found", { kind: "answer", status: 404 }, "url"],
    [
      "301 redirect",
      { kind: "answer", status: 301, headers: { location: "https://elsewhere/" } },
      "url",
    ],
  ])("%s is a configuration error, announced once", async (_, fault, about) => {
    const { exporter, watch, server } = await run([fault, fault, fault], { batchSize: 2 }, {}, 6);
    expect(server.eventRequests).toHaveLength(3);
    expect(exporter.stats()).toMatchObject({ received: 6, failed: 6, retries: 0, pending: 0 });
    expect(watch.errors).toHaveLength(3);
    for (const error of watch.errors) {
      expect(error.reason).toBe("rejected");
      expect(error.message).toContain("configuration error");
      expect(error.message).toContain(about);
    }
    expect(configWarnings()).toHaveLength(1);
    expect(configWarnings()[0]!.message).toContain(about);
  });

  it("a token HEC does not know is reported as a configuration error once", async () => {
    const { exporter, watch, server } = await run(
      [],
      { token: "0000-wrong-token", batchSize: 2 },
      {},
      6,
    );
    expect(server.eventRequests.map((r) => [r.status, r.code])).toEqual([
      [403, 4],
      [403, 4],
      [403, 4],
    ]);
    expect(exporter.stats()).toMatchObject({ failed: 6, delivered: 0, retries: 0 });
    expect(watch.errors.map((e) => e.status)).toEqual([403, 403, 403]);
    expect(watch.errors[0]!.message).toContain('code 4 "Invalid token"');
    expect(configWarnings()).toHaveLength(1);
    expect(configWarnings()[0]!.message).toContain("HEC token was refused");
  });

  it("a disabled token likewise (403 code 1)", async () => {
    const { watch } = await run([], {}, { tokens: { [DEFAULT_TOKEN]: { disabled: true } } }, 2);
    expect(watch.errors).toHaveLength(1);
    expect(watch.errors[0]).toMatchObject({ status: 403, reason: "rejected" });
    expect(watch.errors[0]!.message).toContain('code 1 "Token disabled"');
    expect(configWarnings()).toHaveLength(1);
  });

  it("an index the token may not write to (400 code 7) fails the batch", async () => {
    const { watch, server } = await run(
      [],
      { index: "secret" },
      { tokens: { [DEFAULT_TOKEN]: { indexes: ["main"] } } },
      3,
    );
    expect(server.eventRequests[0]).toMatchObject({ status: 400, code: 7 });
    expect(server.stats().indexed).toBe(0);
    expect(watch.reported("rejected")).toBe(3);
    expect(configWarnings()[0]!.message).toContain("index");
  });
});

describe("one event refused (invalid-event-number)", () => {
  it("rejects exactly that record and sends every other one again, the ones before it included", async () => {
    const watch = new AccountingWatch();
    server = await HecTestServer.start({
      refuseEvent: (event) =>
        (event.event as { event_id: string }).event_id === "evt-3" ? { code: 6 } : undefined,
    });
    const exporter = new SplunkHecExporter({
      url: server.url,
      token: DEFAULT_TOKEN,
      ...fast,
      onError: watch.onError,
    });
    watch.watch(() => exporter.stats());
    for (const record of makeRecords(6)) exporter.export(record);
    await exporter.close();

    const requests = server.eventRequests;
    expect(requests.map((r) => [r.status, r.code])).toEqual([
      [400, 6],
      [200, 0],
    ]);
    const ids = (r: { events: readonly { event?: unknown }[] }) =>
      r.events.map((e) => (e.event as { event_id: string }).event_id);
    // HEC stopped at evt-3. It does not say it indexed evt-0..2 (this server
    // did), so they go again with evt-4 and evt-5: at least once, counted.
    expect(ids(requests[1]!)).toEqual(["evt-0", "evt-1", "evt-2", "evt-4", "evt-5"]);
    expect([...server.counts.entries()].sort()).toEqual([
      ["evt-0", 2],
      ["evt-1", 2],
      ["evt-2", 2],
      ["evt-4", 1],
      ["evt-5", 1],
    ]);
    expect(watch.errors).toHaveLength(1);
    expect(watch.errors[0]).toMatchObject({ reason: "rejected", status: 400 });
    expect(watch.errors[0]!.records.map((r) => r.eventId)).toEqual(["evt-3"]);
    expect(exporter.stats()).toMatchObject({
      received: 6,
      delivered: 5,
      failed: 1,
      pending: 0,
      resentUnanswered: 0,
      resentUnacknowledged: 3,
    });
    expect(server.stats().duplicates).toBe(exporter.stats().resentUnacknowledged);
    expect(watch.problems).toEqual([]);
  });

  it("with any refused events anywhere in any batches: each bad record is rejected once, every other arrives, duplicates equal the counter", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 12 }),
        fc.uniqueArray(fc.nat({ max: 29 }), { maxLength: 8 }),
        fc.constantFrom(6, 12, 13),
        async (count, batchSize, badPositions, code) => {
          const bad = new Set(badPositions.filter((i) => i < count).map((i) => `evt-${i}`));
          const watch = new AccountingWatch();
          const hec = await HecTestServer.start({
            refuseEvent: (event) =>
              bad.has((event.event as { event_id: string }).event_id) ? { code } : undefined,
          });
          try {
            const exporter = new SplunkHecExporter({
              url: hec.url,
              token: DEFAULT_TOKEN,
              batchSize,
              ...fast,
              onError: watch.onError,
            });
            watch.watch(() => exporter.stats());
            for (const record of makeRecords(count)) exporter.export(record);
            await exporter.close();
            const rejected = watch.errors.flatMap((e) => e.records.map((r) => r.eventId));
            expect(watch.errors.every((e) => e.reason === "rejected")).toBe(true);
            expect(rejected.sort()).toEqual([...bad].sort());
            for (let i = 0; i < count; i++) {
              if (!bad.has(`evt-${i}`))
                expect(hec.counts.get(`evt-${i}`)).toBeGreaterThanOrEqual(1);
            }
            const stats = exporter.stats();
            expect(stats).toMatchObject({
              received: count,
              delivered: count - bad.size,
              failed: bad.size,
              pending: 0,
            });
            expect(hec.stats().duplicates).toBe(stats.resentUnacknowledged);
            expect(watch.problems).toEqual([]);
          } finally {
            await hec.close();
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it("a refused first event leaves the others to be sent again", async () => {
    const watch = new AccountingWatch();
    server = await HecTestServer.start({
      refuseEvent: (event) =>
        (event.event as { event_id: string }).event_id === "evt-0" ? { code: 13 } : undefined,
    });
    const exporter = new SplunkHecExporter({
      url: server.url,
      token: DEFAULT_TOKEN,
      ...fast,
      onError: watch.onError,
    });
    for (const record of makeRecords(4)) exporter.export(record);
    await exporter.close();
    expect(server.stats()).toMatchObject({ distinct: 3, duplicates: 0 });
    expect(watch.errors[0]!.records.map((r) => r.eventId)).toEqual(["evt-0"]);
    expect(exporter.stats()).toMatchObject({ delivered: 3, failed: 1 });
  });
});

describe("Retry-After", () => {
  it.each<[string, Fault]>([
    ["503 code 9", { kind: "answer", status: 503, code: 9, retryAfter: "1" }],
    ["429", { kind: "answer", status: 429, retryAfter: "1" }],
  ])("is honoured after %s", async (_, fault) => {
    // The backoff alone would wait at most 2 ms: only Retry-After explains a second's gap.
    const { exporter, server } = await run([fault], {
      retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
    });
    const [first, second] = server.eventRequests;
    expect(server.eventRequests).toHaveLength(2);
    expect(second!.arrivedAt - first!.arrivedAt).toBeGreaterThanOrEqual(950);
    expect(exporter.stats()).toMatchObject({ delivered: 5, retries: 1 });
  });
});

describe("413 Request Entity Too Large", () => {
  it("splits the batch until the halves fit, and delivers every record once", async () => {
    const records = makeRecords(8);
    const one = Buffer.byteLength(
      `{"time":${records[7]!.timestampUnix},"source":"a1","sourcetype":"_json","event":${records[7]!.toNdjson()}}`,
    );
    const limit = one * 2 + 20;
    const { exporter, watch, server } = await run([], {}, { maxContentLength: limit }, 8);
    for (const request of server.eventRequests) {
      if (request.status === 413) expect(request.raw.length).toBeGreaterThan(limit);
      else expect(request.raw.length).toBeLessThanOrEqual(limit);
    }
    // 8 → 4 + 4 → 2 + 2 + 2 + 2 (→ 1 + 1 where a pair of larger records is too big).
    expect(server.eventRequests.filter((r) => r.status === 413).length).toBeGreaterThanOrEqual(3);
    expect(server.stats()).toMatchObject({ distinct: 8, duplicates: 0 });
    expect(exporter.stats()).toMatchObject({ delivered: 8, failed: 0, dropped: 0 });
    expect(watch.errors).toEqual([]);
  });

  it("drops a single record HEC finds too large as oversize and delivers the rest", async () => {
    const watch = new AccountingWatch();
    server = await HecTestServer.start({ maxContentLength: 4000 });
    const exporter = new SplunkHecExporter({
      url: server.url,
      token: DEFAULT_TOKEN,
      ...fast,
      onError: watch.onError,
    });
    watch.watch(() => exporter.stats());
    const huge = makeRecord(99, { extra: { blob: "x".repeat(5000) } });
    for (const record of [...makeRecords(4), huge]) exporter.export(record);
    await exporter.close();
    expect(server.stats()).toMatchObject({ distinct: 4, duplicates: 0 });
    expect(exporter.stats()).toMatchObject({ received: 5, delivered: 4, dropped: 1, failed: 0 });
    expect(watch.errors).toHaveLength(1);
    expect(watch.errors[0]).toMatchObject({ reason: "oversize", status: 413 });
    expect(watch.errors[0]!.records.map((r) => r.eventId)).toEqual(["evt-99"]);
    expect(watch.problems).toEqual([]);
  });
});

describe("answers that are not HEC's JSON", () => {
  it("a 200 without a JSON body counts as delivered (the HTTP status decides)", async () => {
    const { exporter, watch } = await run([{ kind: "answer", status: 200, body: "OK" }]);
    expect(exporter.stats()).toMatchObject({ delivered: 5, failed: 0 });
    expect(watch.errors).toEqual([]);
  });
});
