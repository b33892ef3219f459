// Runs the test intake in a process of its own (for benchmarks, so that its
// CPU is not the client's). Prints {"url": …, "port": …} on its first stdout
// line; GET /_intake/counters gives the counters. Stops on SIGTERM or when
// stdin closes. Usage: node --import tsx intake-server-main.ts [apiKey...]
import { startIntakeServer, TEST_API_KEY } from "./intake-server.js";

const keys = process.argv.slice(2);
const server = await startIntakeServer({
  apiKeys: keys.length > 0 ? keys : [TEST_API_KEY],
  keepEntries: false,
});
process.stdout.write(`${JSON.stringify({ url: server.url, port: server.port })}\n`);

const stop = () => {
  void server.close().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.resume();
