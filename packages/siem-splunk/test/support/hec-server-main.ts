// Runs the HEC test server in a process of its own (for the benchmark, so that
// the server's CPU is not counted as the client's). Prints {"port":N} on one
// line of stdout once listening; GET /__test__/stats answers its counters.
// Exits on SIGTERM, SIGINT or when stdin closes.
import { DEFAULT_TOKEN, HecTestServer } from "./hec-server.js";

const token = process.env.HEC_TEST_TOKEN ?? DEFAULT_TOKEN;
const server = await HecTestServer.start({ tokens: { [token]: {} }, keep: false });
process.stdout.write(`${JSON.stringify({ port: server.port, url: server.url })}\n`);

const stop = async (): Promise<void> => {
  await server.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.resume();
