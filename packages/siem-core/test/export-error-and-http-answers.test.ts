import { Readable } from "node:stream";
import { inspect } from "node:util";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  ExportError,
  gzipBody,
  isRetryableStatus,
  MAX_RETRY_AFTER_MS,
  networkExportError,
  parseRetryAfter,
  pickRecords,
  readTextUpTo,
  redact,
} from "../src/index.js";
import { makeRecords } from "./helpers/records.js";

describe("ExportError", () => {
  it("defaults its reason from retryable", () => {
    expect(new ExportError("x").reason).toBe("rejected");
    expect(new ExportError("x", { retryable: true }).reason).toBe("retries-exhausted");
    expect(new ExportError("x", { reason: "overflow" }).reason).toBe("overflow");
    const plain = new ExportError("x");
    expect(plain).toMatchObject({ retryable: false, tooLarge: false, records: [] });
    expect(plain.status).toBeUndefined();
    expect(plain.retryAfterMs).toBeUndefined();
    expect(plain.name).toBe("ExportError");
    expect(plain).toBeInstanceOf(Error);
  });

  it("withRecords() copies the error for other records and another reason, keeping the cause", () => {
    const records = makeRecords(2);
    const original = new ExportError("busy", { retryable: true, status: 503, retryAfterMs: 10 });
    const copy = original.withRecords(records, "retries-exhausted");
    expect(copy).toMatchObject({
      message: "busy",
      reason: "retries-exhausted",
      retryable: true,
      status: 503,
      retryAfterMs: 10,
    });
    expect(copy.records).toEqual(records);
    expect(copy.cause).toBe(original);
    const cause = new Error("socket hang up");
    expect(new ExportError("x", { cause }).withRecords([]).cause).toBe(cause);
  });

  it("keeps the records (audit evidence) out of inspected output", () => {
    const records = makeRecords(1);
    const error = new ExportError("failed", { records });
    expect(error.records).toEqual(records);
    expect(Object.keys(error)).not.toContain("records");
    expect(inspect(error)).not.toContain(records[0]!.eventId);
  });

  it("isInstance() recognises errors made by another copy of the package", () => {
    expect(ExportError.isInstance(new ExportError("x"))).toBe(true);
    expect(ExportError.isInstance(new Error("x"))).toBe(false);
    expect(ExportError.isInstance(null)).toBe(false);
    const foreign = Object.defineProperty(new Error("x"), Symbol.for("@a1/siem-core/ExportError"), {
      value: true,
    });
    expect(ExportError.isInstance(foreign)).toBe(true);
  });
});

describe("HTTP helpers for backends", () => {
  it("parseRetryAfter reads seconds and HTTP dates, caps them, ignores garbage", () => {
    const now = Date.parse("2024-12-04T08:00:00Z");
    expect(parseRetryAfter("5", now)).toBe(5000);
    expect(parseRetryAfter(" 1.5 ", now)).toBe(1500);
    expect(parseRetryAfter(["2", "9"], now)).toBe(2000);
    expect(parseRetryAfter("Wed, 04 Dec 2024 08:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Wed, 04 Dec 2024 07:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("999999", now)).toBe(MAX_RETRY_AFTER_MS);
    expect(MAX_RETRY_AFTER_MS).toBe(300_000);
    for (const bad of [undefined, "", "soon", "-5", "1e3"]) {
      expect(parseRetryAfter(bad, now)).toBeUndefined();
    }
  });

  it("isRetryableStatus: 408, 429 and 5xx but 501 and 505", () => {
    const retryable = [408, 429, 500, 502, 503, 504, 507, 599];
    const permanent = [200, 400, 401, 403, 404, 409, 413, 422, 501, 505];
    for (const status of retryable) expect(isRetryableStatus(status), String(status)).toBe(true);
    for (const status of permanent) expect(isRetryableStatus(status), String(status)).toBe(false);
  });

  it("networkExportError: retryable, except certificate errors; an aborted attempt is retryable", () => {
    const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
    expect(networkExportError(reset)).toMatchObject({ retryable: true });
    expect(networkExportError(reset).message).toContain("ECONNRESET");
    const wrapped = Object.assign(new TypeError("fetch failed"), {
      cause: Object.assign(new Error("self-signed certificate"), {
        code: "DEPTH_ZERO_SELF_SIGNED_CERT",
      }),
    });
    const tls = networkExportError(wrapped);
    expect(tls.retryable).toBe(false);
    expect(tls.message).toMatch(/TLS/);
    const controller = new AbortController();
    controller.abort();
    expect(networkExportError(new Error("aborted"), controller.signal).retryable).toBe(true);
  });

  it("networkExportError: a request the HTTP client refused to build is not retried", async () => {
    // A real refusal from Node's HTTP client: a header value with a character HTTP forbids.
    const { request } = await import("node:http");
    let refused: unknown;
    try {
      request("http://127.0.0.1:9/", { headers: { authorization: "Splunk tok\u20ac" } });
    } catch (error) {
      refused = error;
    }
    expect((refused as { code?: string }).code).toBe("ERR_INVALID_CHAR");
    const error = networkExportError(refused);
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/could not be built \(ERR_INVALID_CHAR\)/);
    const undiciLike = Object.assign(new Error("invalid authorization header"), {
      code: "UND_ERR_INVALID_ARG",
    });
    expect(networkExportError(undiciLike).retryable).toBe(false);
  });

  it("redact replaces every occurrence of each secret", () => {
    expect(redact("key abcd1234 and abcd1234 again", ["abcd1234", undefined])).toBe(
      "key [REDACTED] and [REDACTED] again",
    );
    // Very short values are not secrets worth mangling every message for.
    expect(redact("a b c", ["a"])).toBe("a b c");
  });

  it("readTextUpTo reads at most `limit` bytes and drains the rest", async () => {
    const body = Readable.from([Buffer.from("hello "), Buffer.from("world, and more")]);
    expect(await readTextUpTo(body, 8)).toBe("hello wo");
    expect(body.readableEnded).toBe(true);
  });

  it("pickRecords returns the records at the given positions, skipping ones out of range", () => {
    const records = makeRecords(4);
    expect(pickRecords(records, [0, 2, 9])).toEqual([records[0], records[2]]);
  });

  it("gzipBody compresses", async () => {
    const text = '{"a":1}\n'.repeat(100);
    const gz = await gzipBody(text);
    expect(gz.length).toBeLessThan(text.length);
    expect(gunzipSync(gz).toString()).toBe(text);
  });
});
