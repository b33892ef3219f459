// What the network scenarios share: a test server in a process of its own
// (its CPU must not count as the client's), waiting for it to have every
// record, and feeding records the way an application does.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";
import type { AuditExporter, AuditRecord, ErrorHandler } from "@a1/siem-core";
import { Pool } from "undici";
import type { ScenarioContext } from "./harness.js";

/** A test server running in a child process. */
export interface ServerProcess {
  readonly url: string;
  readonly port: number;
  /** GETs `path` from the server and parses its JSON answer (its counters). */
  get<T>(path: string): Promise<T>;
  stop(): void;
}

/**
 * Spawns `node --import tsx <entry> <args>` and reads the server's address
 * from the first line it prints (`{"port":N}` or `{"port":N,"url":…}`).
 */
export async function startServerProcess(
  entry: string,
  args: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): Promise<ServerProcess> {
  const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), entry, ...args], {
    stdio: ["pipe", "pipe", "inherit"],
    env,
  });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`${entry} exited with ${code}`)));
  });
  lines.close();
  const { port, url = `http://127.0.0.1:${port}` } = JSON.parse(first) as {
    port: number;
    url?: string;
  };
  const control = new Pool(url, { connections: 1 });
  return {
    url,
    port,
    get: async <T>(path: string) => {
      const { body } = await control.request({ path, method: "GET" });
      return (await body.json()) as T;
    },
    stop: () => {
      void control.close();
      child.stdin.end();
      child.kill("SIGTERM");
    },
  };
}

/** Polls `read` until `count` of it reaches `expected`, or nothing new came for `idleMs`. */
export async function waitForRecords<T>(
  read: () => Promise<T>,
  count: (value: T) => number,
  expected: number,
  idleMs = 10_000,
): Promise<T> {
  let last = await read();
  let since = Date.now();
  while (count(last) < expected && Date.now() - since < idleMs) {
    await sleep(20);
    const now = await read();
    if (count(now) !== count(last)) since = Date.now();
    last = now;
  }
  return last;
}

/**
 * Calls `exportOne` for every record, timing each call, and yields to the
 * event loop every `chunk` records (an application serving requests does).
 * With `backlog`, waits while the client holds more than `maxBacklog`
 * records, so that a bounded queue is never overrun by a producer faster
 * than the wire. It waits on a 1 ms timer, not by spinning the event loop:
 * a spin would burn CPU that is the benchmark's, not the client's.
 */
export async function feed(
  context: ScenarioContext,
  exportOne: (record: AuditRecord) => void,
  backlog?: () => number,
  maxBacklog = 20_000,
  chunk = 1000,
): Promise<void> {
  const { records } = context;
  for (let start = 0; start < records.length; start += chunk) {
    const end = Math.min(records.length, start + chunk);
    for (let i = start; i < end; i++) {
      const record = records[i]!;
      context.timeCall(() => exportOne(record));
    }
    await nextTurn();
    while (backlog !== undefined && backlog() > maxBacklog) await sleep(1);
  }
}

/**
 * Feeds every record to the exporter `make` builds (bounded by its pending
 * count), closes it, and describes its stats and first failures for the
 * report.
 */
export async function driveExporter(
  context: ScenarioContext,
  make: (onError: ErrorHandler) => AuditExporter,
): Promise<string> {
  const failures: string[] = [];
  const exporter = make((error) => failures.push(`${error.reason}: ${error.records.length}`));
  await feed(
    context,
    (record) => exporter.export(record),
    () => exporter.stats().pending,
  );
  await exporter.close();
  const errors = failures.length > 0 ? `; errors ${failures.slice(0, 3).join(", ")}` : "";
  return `stats ${JSON.stringify(exporter.stats())}${errors}`;
}
