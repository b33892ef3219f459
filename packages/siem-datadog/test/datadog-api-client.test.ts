import { client, v2 } from "@datadog/datadog-api-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type IntakeServer, startIntakeServer, TEST_API_KEY } from "./support/intake-server.js";
import { makeRecords } from "./support/records.js";

// Datadog's own client (LogsApi.submitLog) pointed at the test intake: the
// server speaks the intake API as Datadog's client expects.

let server: IntakeServer;
beforeEach(async () => {
  server = await startIntakeServer();
});
afterEach(async () => {
  await server.close();
});

/** The client's second server template for submitLog is `{protocol}://{name}`. */
function logsApi(apiKey: string): v2.LogsApi {
  const configuration = client.createConfiguration({
    authMethods: { apiKeyAuth: apiKey },
    operationServerIndices: { "v2.LogsApi.submitLog": 1 },
  });
  configuration.setServerVariables({ protocol: "http", name: `127.0.0.1:${server.port}` });
  return new v2.LogsApi(configuration);
}

describe("@datadog/datadog-api-client against the test intake", () => {
  it("submitLog with gzip: accepted, every item received as sent", async () => {
    const records = makeRecords(3);
    const body: v2.HTTPLogItem[] = records.map((record) => ({
      ddsource: "a1",
      ddtags: "env:test",
      hostname: "authz-7",
      service: "a1",
      message: record.toNdjson(),
    }));
    const answer = await logsApi(TEST_API_KEY).submitLog({ body, contentEncoding: "gzip" });
    expect(answer).toEqual({});
    const [request] = server.requests;
    expect(request).toMatchObject({ method: "POST", path: "/api/v2/logs", status: 202 });
    expect(request!.headers["content-encoding"]).toBe("gzip");
    expect(request!.headers["dd-api-key"]).toBe(TEST_API_KEY);
    expect(server.entries).toEqual(body);
    expect(server.counters().uniqueIds).toBe(3);
  });

  it("submitLog with a bad key: the client sees the 403", async () => {
    await expect(
      logsApi("badbadbadbadbadbadbadbadbadbadba").submitLog({
        body: [{ message: "x" }],
      }),
    ).rejects.toMatchObject({ code: 403 });
    expect(server.counters().statuses).toEqual({ 403: 1 });
  });

  it("submitLog above 1,000 entries: the client sees the 400", async () => {
    const body = Array.from({ length: 1001 }, (_, i) => ({ message: `m${i}` }));
    await expect(logsApi(TEST_API_KEY).submitLog({ body })).rejects.toMatchObject({ code: 400 });
  });

  it("submitLog above 5 MB uncompressed: the client sees the 413", async () => {
    const body = Array.from({ length: 6 }, () => ({ message: "x".repeat(900_000) }));
    await expect(
      logsApi(TEST_API_KEY).submitLog({ body, contentEncoding: "gzip" }),
    ).rejects.toMatchObject({ code: 413 });
  });
});
