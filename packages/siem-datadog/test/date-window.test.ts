import { type AuditRecord, ExportError } from "@a1/siem-core";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildBody } from "../src/datadog-batch-exporter.js";
import { DatadogEntryEncoder } from "../src/datadog-entry.js";
import { DatadogLogExporter, STAMP_FUTURE_LIMIT_MS, STAMP_PAST_LIMIT_MS } from "../src/index.js";
import { type IntakeServer, startIntakeServer, TEST_API_KEY } from "./support/intake-server.js";
import { expectAccounting, makeRecord } from "./support/records.js";

const HOUR = 3600;

let server: IntakeServer;
beforeEach(async () => {
  server = await startIntakeServer();
});
afterEach(async () => {
  await server.close();
});

describe("Datadog's accepted time window (18 h back, 2 h ahead)", () => {
  it("documents its margin: 17 h back and 1 h ahead at the moment of sending", () => {
    expect(STAMP_PAST_LIMIT_MS).toBe(17 * HOUR * 1000);
    expect(STAMP_FUTURE_LIMIT_MS).toBe(1 * HOUR * 1000);
  });

  it("delivers records outside the window without the date attribute, keeps their own time, and counts them", async () => {
    const now = Math.floor(Date.now() / 1000);
    const times = {
      fresh: now - 60,
      justInside: now - 17 * HOUR + 120,
      justOutside: now - 17 * HOUR - 120,
      daysOld: now - 3 * 24 * HOUR,
      epoch: 0,
      slightlyAhead: now + 30 * 60,
      farAhead: now + 2 * HOUR,
    };
    const exporter = new DatadogLogExporter({
      apiKey: TEST_API_KEY,
      url: server.url,
      flushIntervalMs: 5,
    });
    const records = Object.values(times).map((timestampUnix, i) =>
      makeRecord(i, { timestampUnix }),
    );
    for (const record of records) exporter.export(record);
    await exporter.close();

    const byId = new Map(server.entries.map((entry) => [entry.event_id, entry]));
    const stamped = records.filter((record) => !("timestamp" in byId.get(record.eventId)!));
    expect(stamped.map((record) => record.timestampUnix)).toEqual([
      times.justOutside,
      times.daysOld,
      times.epoch,
      times.farAhead,
    ]);
    for (const record of records) {
      const entry = byId.get(record.eventId)!;
      // The record's own time is always there.
      expect(entry.timestamp_unix).toBe(record.timestampUnix);
      expect(entry.timestamp_iso).toBe(record.timestampIso);
      expect(entry.message).toBe(record.toNdjson());
      if (!stamped.includes(record)) expect(entry.timestamp).toBe(record.timestampUnix * 1000);
    }
    const stats = exporter.stats();
    expect(stats.stampedAtSend).toBe(4);
    expect(stats.delivered).toBe(records.length);
    expectAccounting(stats);
  });

  it("decides at each attempt, so that a batch retried past the window loses its date", () => {
    const encoder = new DatadogEntryEncoder({
      source: "a1",
      service: "a1",
      hostname: "h",
      tags: "",
    });
    const sentAt = Date.now();
    const record = makeRecord(1, {
      timestampUnix: Math.floor((sentAt - STAMP_PAST_LIMIT_MS) / 1000) + 60,
    });
    const entries = [encoder.encode(record)];
    const first = buildBody([record], entries, sentAt);
    expect(first.stamped).toBe(0);
    expect(JSON.parse(first.body.toString())[0].timestamp).toBe(record.timestampUnix * 1000);
    // The same encoded batch, retried two minutes later.
    const retry = buildBody([record], entries, sentAt + 120_000);
    expect(retry.stamped).toBe(1);
    const entry = JSON.parse(retry.body.toString())[0];
    expect("timestamp" in entry).toBe(false);
    const { timestamp: _dropped, ...rest } = JSON.parse(entries[0]!);
    expect(entry).toEqual(rest);
  });

  it("counts only records that were delivered", async () => {
    server.fail({ status: 400 });
    const errors: ExportError[] = [];
    const exporter = new DatadogLogExporter({
      apiKey: TEST_API_KEY,
      url: server.url,
      flushIntervalMs: 5,
      onError: (error) => errors.push(error),
    });
    const old: AuditRecord = makeRecord(1, { timestampUnix: 1_000_000_000 });
    exporter.export(old);
    await exporter.close();
    expect(errors).toHaveLength(1);
    expect(ExportError.isInstance(errors[0])).toBe(true);
    expect(exporter.stats()).toMatchObject({ failed: 1, stampedAtSend: 0 });
  });
});

describe("the request body", () => {
  it("is the JSON array of the entries, dates dropped outside the window, for any text", () => {
    const encoder = new DatadogEntryEncoder({
      source: "a1",
      service: "a1",
      hostname: "h\u00e9",
      tags: "",
    });
    const now = Date.now();
    const record = fc
      .record({
        text: fc.string({ unit: "grapheme", maxLength: 300 }),
        age: fc.integer({ min: -3 * HOUR, max: 40 * HOUR }),
      })
      .map(({ text, age }, i = 0) =>
        makeRecord(i, {
          errorMessage: text,
          timestampUnix: Math.max(0, Math.floor(now / 1000) - age),
        }),
      );
    fc.assert(
      fc.property(fc.array(record, { maxLength: 40 }), (records) => {
        const entries = records.map((r) => encoder.encode(r));
        const { body, stamped } = buildBody(records, entries, now);
        const expected = entries.map((entry, i) => {
          const parsed = JSON.parse(entry) as Record<string, unknown>;
          const age = now / 1000 - records[i]!.timestampUnix;
          const outside = age > STAMP_PAST_LIMIT_MS / 1000 || -age > STAMP_FUTURE_LIMIT_MS / 1000;
          if (outside) delete parsed.timestamp;
          return parsed;
        });
        expect(JSON.parse(body.toString("utf8"))).toEqual(expected);
        expect(stamped).toBe(expected.filter((entry) => !("timestamp" in entry)).length);
        // Exactly the bytes of the JSON: no slack left at the end.
        expect(body.length).toBe(Buffer.byteLength(body.toString("utf8")));
      }),
      { numRuns: 200 },
    );
  });
});
