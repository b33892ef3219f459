// Splunk's own Node client pointed at the test server: evidence that the
// server speaks HEC the way Splunk's client expects (paths, headers, body,
// JSON answers with text and code).
import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_TOKEN, HecTestServer } from "./support/hec-server.js";

interface SplunkLogger {
  send(
    context: { message: unknown; metadata?: Record<string, unknown> },
    callback?: Callback,
  ): void;
  flush(callback?: Callback): void;
  error: (error: Error & { code?: number }, context: unknown) => void;
  eventFormatter: (message: unknown, severity: string) => unknown;
}
type Callback = (error: Error | null, response: { statusCode: number }, body: unknown) => void;

const { Logger } = createRequire(import.meta.url)("splunk-logging") as {
  Logger: new (config: Record<string, unknown>) => SplunkLogger;
};

let server: HecTestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function flush(
  logger: SplunkLogger,
): Promise<{ error: Error | null; status: number; body: unknown }> {
  return new Promise((resolve) =>
    logger.flush((error, response, body) => resolve({ error, status: response?.statusCode, body })),
  );
}

describe("splunk-logging against the HEC test server", () => {
  it("sends a batch that the server indexes, and reads the server's success answer", async () => {
    server = await HecTestServer.start({ eventKey: (event) => JSON.stringify(event.event) });
    const logger = new Logger({ token: DEFAULT_TOKEN, url: server.url, maxBatchCount: 100 });
    logger.eventFormatter = (message) => message;
    const errors: unknown[] = [];
    logger.error = (error) => errors.push(error);
    logger.send({
      message: { n: 1 },
      metadata: { source: "a1", sourcetype: "_json", index: "main" },
    });
    logger.send({
      message: { n: 2 },
      metadata: { source: "a1", sourcetype: "_json", index: "main" },
    });
    const result = await flush(logger);

    expect(errors).toEqual([]);
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ text: "Success", code: 0 });
    const [request] = server.eventRequests;
    expect(request!.path).toBe("/services/collector/event/1.0");
    expect(request!.headers.authorization).toBe(`Splunk ${DEFAULT_TOKEN}`);
    expect(server.indexed.map((event) => event.event)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(server.indexed[0]).toMatchObject({ source: "a1", sourcetype: "_json", index: "main" });
    // splunk-logging sends time as a string of seconds with milliseconds.
    expect(server.indexed[0]!.time).toMatch(/^\d{10}\.\d{3}$/);
  });

  it("gets HEC's error code and text for a bad token, as Splunk's client reads them", async () => {
    server = await HecTestServer.start();
    const logger = new Logger({ token: "wrong-token", url: server.url });
    const errors: (Error & { code?: number })[] = [];
    logger.error = (error) => errors.push(error);
    logger.send({ message: "hello" });
    const result = await flush(logger);
    expect(result.status).toBe(403);
    expect(result.body).toEqual({ text: "Invalid token", code: 4 });
    expect(errors.map((e) => [e.message, e.code])).toContainEqual(["Invalid token", 4]);
    expect(server.stats().indexed).toBe(0);
  });

  it("gets code 9 when the server is busy", async () => {
    server = await HecTestServer.start();
    server.script({ kind: "answer", status: 503, code: 9 });
    // Without batching settings, send() posts at once (maxBatchCount 1).
    const logger = new Logger({ token: DEFAULT_TOKEN, url: server.url });
    const errors: (Error & { code?: number })[] = [];
    logger.error = (error) => errors.push(error);
    const result = await new Promise<{ status: number }>((resolve) =>
      logger.send({ message: "hello" }, (_error, response) =>
        resolve({ status: response?.statusCode }),
      ),
    );
    expect(result.status).toBe(503);
    expect(server.eventRequests).toHaveLength(1);
    expect(errors.map((e) => [e.message, e.code])).toContainEqual(["Server is busy", 9]);
  });
});
