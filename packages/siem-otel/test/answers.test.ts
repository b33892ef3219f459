// Every class of OTLP/HTTP answer, from a real receiver on 127.0.0.1: what is
// retried (429, 502, 503, 504, network failures, timeouts — and nothing else),
// Retry-After, partial success, 413 and the accounting of each.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { balanced, exporterFor } from "./support/harness.js";
import { OtlpTestServer } from "./support/otlp-server.js";
import { manyRecords } from "./support/records.js";

describe.each(["http/protobuf", "http/json"] as const)("answers over %s", (protocol) => {
  let server: OtlpTestServer;
  beforeAll(async () => {
    server = await OtlpTestServer.start();
  });
  afterEach(() => {
    server.clearPlan();
    server.answerAlways({});
  });
  afterAll(() => server.close());

  const attemptsSince = (start: number) => server.requests.length - start;

  test.each([429, 502, 503, 504])("%i is retried, then the batch is delivered", async (status) => {
    const start = server.requests.length;
    server.plan({ status, message: "try later" });
    const { exporter, errors } = exporterFor(server, { protocol });
    for (const record of manyRecords(3)) exporter.export(record);
    await exporter.close();
    expect(errors).toEqual([]);
    expect(attemptsSince(start)).toBe(2);
    expect(server.requests.at(-2)!.answer).toBe(status);
    expect(server.requests.at(-1)!.records.map((r) => r.attributes.event_id)).toEqual(
      manyRecords(3).map((r) => ({ string: r.eventId })),
    );
    expect(exporter.stats()).toEqual({
      received: 3,
      delivered: 3,
      failed: 0,
      dropped: 0,
      pending: 0,
      retries: 1,
    });
  });

  test.each([400, 401, 403, 404, 405, 408, 409, 415, 500, 501, 505])(
    "%i is never retried: the batch fails as rejected",
    async (status) => {
      const start = server.requests.length;
      server.plan({ status, message: `refused with ${status}` });
      const { exporter, errors } = exporterFor(server, { protocol });
      for (const record of manyRecords(3)) exporter.export(record);
      await exporter.close();
      expect(attemptsSince(start)).toBe(1);
      expect(errors).toHaveLength(1);
      const [error] = errors;
      expect(error!.reason).toBe("rejected");
      expect(error!.status).toBe(status);
      expect(error!.retryable).toBe(false);
      expect(error!.records).toHaveLength(3);
      expect(error!.message).toContain(String(status));
      expect(error!.message).toContain(`refused with ${status}`);
      expect(exporter.stats()).toMatchObject({ received: 3, delivered: 0, failed: 3, retries: 0 });
      expect(balanced(exporter.stats())).toBe(true);
    },
  );

  test("retries stop at maxAttempts with reason retries-exhausted, one request per attempt", async () => {
    const start = server.requests.length;
    server.answerAlways({ status: 503 });
    const { exporter, errors } = exporterFor(server, {
      protocol,
      retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
    });
    for (const record of manyRecords(2)) exporter.export(record);
    await exporter.close();
    // No retry hidden inside an attempt: exactly maxAttempts requests.
    expect(attemptsSince(start)).toBe(3);
    expect(errors.map((e) => [e.reason, e.status, e.records.length])).toEqual([
      ["retries-exhausted", 503, 2],
    ]);
    expect(exporter.stats()).toMatchObject({ failed: 2, delivered: 0, retries: 2, pending: 0 });
  });

  test("Retry-After (seconds) is honoured and reported", async () => {
    server.plan({ status: 429, headers: { "retry-after": "1" } });
    const { exporter, errors } = exporterFor(server, { protocol });
    exporter.export(manyRecords(1)[0]!);
    const started = Date.now();
    await exporter.close();
    // A lower bound only: the retry cannot come before the server's delay.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(errors).toEqual([]);
    expect(exporter.stats().delivered).toBe(1);
  });

  test("the Retry-After of the last answer is on the error when attempts run out", async () => {
    const when = new Date(Date.now() + 3000).toUTCString();
    server.plan({ status: 503, headers: { "retry-after": when } });
    const { exporter, errors } = exporterFor(server, {
      protocol,
      retry: { maxAttempts: 1, initialDelayMs: 1, maxDelayMs: 1 },
    });
    exporter.export(manyRecords(1)[0]!);
    await exporter.close();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.reason).toBe("retries-exhausted");
    expect(errors[0]!.retryAfterMs).toBeGreaterThan(0);
    expect(errors[0]!.retryAfterMs).toBeLessThanOrEqual(3000);
  });

  test("a partial success is not retried; its rejected count is reported and counted failed", async () => {
    const start = server.requests.length;
    server.plan({ partialSuccess: { rejected: 2, message: "2 records had invalid attributes" } });
    const { exporter, errors } = exporterFor(server, { protocol });
    for (const record of manyRecords(5)) exporter.export(record);
    await exporter.close();
    expect(attemptsSince(start)).toBe(1);
    expect(exporter.stats()).toEqual({
      received: 5,
      delivered: 3,
      failed: 2,
      dropped: 0,
      pending: 0,
      retries: 0,
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.reason).toBe("rejected");
    expect(errors[0]!.rejectedCount).toBe(2);
    // The receiver does not say which records: the whole batch is shown.
    expect(errors[0]!.records).toHaveLength(5);
    expect(errors[0]!.message).toBe(
      "2 of 5 records were rejected: OTLP partial success: 2 records had invalid attributes",
    );
    expect(errors[0]!.status).toBe(200);
  });

  test("a partial success with 0 rejected, or an unreadable 2xx body, is full success", async () => {
    server.plan(
      { partialSuccess: { rejected: 0, message: "just a warning" } },
      { rawBody: "<html>ok</html>" },
    );
    const { exporter, errors } = exporterFor(server, { protocol, batchSize: 2 });
    for (const record of manyRecords(4)) exporter.export(record);
    await exporter.close();
    expect(errors).toEqual([]);
    expect(exporter.stats()).toMatchObject({ delivered: 4, failed: 0 });
  });

  test("413 splits the batch in halves, each delivered on its own", async () => {
    const start = server.requests.length;
    server.plan({ status: 413 });
    const { exporter, errors } = exporterFor(server, { protocol });
    for (const record of manyRecords(4)) exporter.export(record);
    await exporter.close();
    expect(errors).toEqual([]);
    expect(server.requests.slice(start).map((r) => [r.answer, r.recordCount])).toEqual([
      [413, 4],
      [200, 2],
      [200, 2],
    ]);
    expect(exporter.stats()).toMatchObject({ delivered: 4, failed: 0, pending: 0 });
  });

  test("an answer that never comes times out and is retried", async () => {
    const start = server.requests.length;
    server.plan({ hang: true });
    const { exporter, errors } = exporterFor(server, { protocol, timeoutMs: 500 });
    for (const record of manyRecords(2)) exporter.export(record);
    await exporter.close();
    expect(errors).toEqual([]);
    // (A loaded machine may time out the retry too: only the shape is fixed.)
    const answers = server.requests.slice(start).map((r) => r.answer);
    expect(answers[0]).toBe("hang");
    expect(answers.at(-1)).toBe(200);
    expect(exporter.stats()).toMatchObject({ delivered: 2, failed: 0 });
    expect(exporter.stats().retries).toBe(answers.length - 1);
  });

  test("a reset connection is retried", async () => {
    const start = server.requests.length;
    server.plan({ reset: true }, { reset: true });
    const { exporter, errors } = exporterFor(server, { protocol });
    for (const record of manyRecords(2)) exporter.export(record);
    await exporter.close();
    expect(errors).toEqual([]);
    expect(server.requests.slice(start).map((r) => r.answer)).toEqual(["reset", "reset", 200]);
    expect(exporter.stats()).toMatchObject({ delivered: 2, retries: 2 });
  });

  test("gzip: the body is compressed on the wire and decodes to the same records", async () => {
    const sizes: Record<string, number> = {};
    for (const compression of ["gzip", "none"] as const) {
      const { exporter, errors } = exporterFor(server, { protocol, compression });
      for (const record of manyRecords(50)) exporter.export(record);
      await exporter.close();
      expect(errors).toEqual([]);
      const request = server.requests.at(-1)!;
      expect(request.headers["content-encoding"]).toBe(compression === "gzip" ? "gzip" : undefined);
      expect(request.recordCount).toBe(50);
      expect(request.records.map((r) => r.attributes.event_id)).toEqual(
        manyRecords(50).map((r) => ({ string: r.eventId })),
      );
      sizes[compression] = request.wireBytes;
    }
    expect(sizes.gzip).toBeLessThan(sizes.none! / 2);
  });
});

test("a refused connection is retried until attempts run out", async () => {
  const closed = await OtlpTestServer.start();
  const endpoint = closed.endpoint;
  await closed.close();
  const { exporter, errors } = exporterFor(closed, {
    endpoint,
    retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
  });
  exporter.export(manyRecords(1)[0]!);
  await exporter.close();
  expect(errors).toHaveLength(1);
  expect(errors[0]!.reason).toBe("retries-exhausted");
  expect(errors[0]!.message).toContain("ECONNREFUSED");
  expect(exporter.stats()).toMatchObject({ failed: 1, retries: 2, pending: 0 });
});
