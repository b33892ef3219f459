// The benchmark's OTLP receiver as a process of its own (its CPU is not the
// client's): `node --import tsx otlp-server-main.ts [--delay-ms N]`. Prints
// `{"port":N}` once listening; GET /stats answers the totals as JSON.
import { parseArgs } from "node:util";
import { OtlpTestServer } from "./otlp-server.js";

const { values } = parseArgs({ options: { "delay-ms": { type: "string", default: "0" } } });
const delayMs = Number(values["delay-ms"]);
const server = await OtlpTestServer.start({ delayMs, countOnly: true });
process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);
const stop = (): void => void server.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.resume();
