import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { NdjsonFileExporter } from "../src/index.js";
import { appendChild, compileForChildren } from "./support/compile-for-children.js";
import { checkInvariant, makeRecord, readLines, tempDir } from "./support/helpers.js";

const dir = tempDir();
const exporterModule = compileForChildren();

const running = new Set<ChildProcess>();
afterEach(() => {
  // A failed test must not leave a child appending forever.
  for (const child of running)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  running.clear();
});

/** Starts a child appending through the exporter. */
function appender(
  file: string,
  writer: string,
  count: number | "forever",
  flushEvery: number,
  pad = 9000,
): ChildProcess {
  const child = spawn(
    process.execPath,
    [appendChild, exporterModule, file, writer, String(count), String(flushEvery), String(pad)],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  running.add(child);
  return child;
}

async function exitCode(child: ChildProcess): Promise<number | null> {
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [code] = (await once(child, "exit")) as [number | null];
  if (code !== 0 && code !== null) throw new Error(`child exited ${code}: ${stderr}`);
  return code;
}

/** Every line parses; returns the seqs each writer wrote, in file order. */
function seqsByWriter(path: string): Map<string, number[]> {
  const byWriter = new Map<string, number[]>();
  for (const line of readLines(path)) {
    const writer = line.writer as string;
    if (!byWriter.has(writer)) byWriter.set(writer, []);
    byWriter.get(writer)!.push(line.seq as number);
  }
  return byWriter;
}

const range = (count: number) => Array.from({ length: count }, (_, index) => index);

describe("several writers on one file", () => {
  it("several exporters in one process never interleave or tear lines", async () => {
    const path = join(dir, "in-process.ndjson");
    const exporters = [1, 7, 64, 1].map(
      (flushEvery) => new NdjsonFileExporter(path, { flushEvery }),
    );
    const perWriter = 500;
    for (let seq = 0; seq < perWriter; seq++) {
      exporters.forEach((exporter, writer) => {
        // Some lines longer than a page, so that writes span pages.
        const pad = seq % 25 === 0 ? "x".repeat(10_000) : "ü";
        exporter.export(makeRecord({ extra: { writer: String(writer), seq, pad } }));
      });
    }
    await Promise.all(exporters.map((exporter) => exporter.close()));
    const byWriter = seqsByWriter(path);
    expect([...byWriter.keys()].sort()).toEqual(["0", "1", "2", "3"]);
    for (const seqs of byWriter.values()) expect(seqs).toEqual(range(perWriter));
    for (const exporter of exporters) {
      expect(checkInvariant(exporter)).toMatchObject({ delivered: perWriter, pending: 0 });
    }
  });

  it("several processes appending at once never interleave or tear lines", async () => {
    const path = join(dir, "processes.ndjson");
    const perWriter = 3000;
    const children = [1, 1, 1, 10, 100, 1000].map((flushEvery, writer) =>
      appender(path, `p${writer}`, perWriter, flushEvery),
    );
    await Promise.all(children.map(exitCode));
    const byWriter = seqsByWriter(path);
    expect(byWriter.size).toBe(children.length);
    for (const seqs of byWriter.values()) expect(seqs).toEqual(range(perWriter));
  });

  // What the kernel guarantees, and so what this test asserts: an O_APPEND
  // write() is never interleaved with another, but Linux checks for a fatal
  // signal between the pages of a buffered write and returns early, so
  // SIGKILL during a write() of more than a page can cut the line being
  // written. Everything before it is whole, and the next exporter to open
  // the file ends the cut line before writing its own.
  it("a process killed with SIGKILL mid-stream loses no line whose export() returned; only the line being written can be cut, and the next exporter seals it off", async () => {
    for (const flushEvery of [1, 1, 1, 20]) {
      const path = join(dir, `killed-${flushEvery}-${Math.random()}.ndjson`);
      const child = appender(path, "k", "forever", flushEvery, 3000);
      let reported = 0;
      const killAt = 2000 + Math.floor(Math.random() * 1000);
      let buffered = "";
      child.stdout?.on("data", (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split("\n");
        buffered = lines.pop()!;
        if (lines.length > 0) reported = Number(lines.at(-1));
      });
      let stderr = "";
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const exited = once(child, "exit");
      // Let it write a while, then kill it wherever it is.
      await new Promise<void>((resolve, reject) => {
        const poll = setInterval(() => {
          if (child.exitCode !== null) {
            clearInterval(poll);
            reject(new Error(`child exited ${child.exitCode} before the kill: ${stderr}`));
          } else if (reported >= killAt) {
            clearInterval(poll);
            resolve();
          }
        }, 1);
      });
      child.kill("SIGKILL");
      const [, signal] = (await exited) as [number | null, string | null];
      expect(signal).toBe("SIGKILL");

      const bytes = readFileSync(path);
      const wholeEnd = bytes.lastIndexOf(0x0a) + 1;
      const tail = bytes.subarray(wholeEnd).toString("latin1");
      writeFileSync(`${path}.whole`, bytes.subarray(0, wholeEnd));
      const written = readLines(`${path}.whole`).map((line) => line.seq as number);
      // Nothing lost in the middle, nothing repeated: 0 … k-1.
      expect(written).toEqual(range(written.length));
      // export() had returned for `reported` records (flushEvery divides the
      // reporting interval, so none of them was still buffered).
      expect(written.length).toBeGreaterThanOrEqual(reported);
      // What follows the last newline, if anything, is the start of the next record's line.
      const next = `{"event_id":"k-${written.length}"`;
      expect(tail.startsWith(next) || next.startsWith(tail)).toBe(true);

      const exporter = new NdjsonFileExporter(path);
      const after = makeRecord();
      exporter.export(after);
      await exporter.close();
      const lines = readFileSync(path).subarray(wholeEnd).toString("latin1").split("\n");
      expect(lines).toEqual(tail === "" ? [after.toNdjson(), ""] : [tail, after.toNdjson(), ""]);
    }
  });

  it("a new exporter on a file that ends mid-line (a crash) ends that line first", async () => {
    const path = join(dir, "torn.ndjson");
    const whole = makeRecord();
    writeFileSync(path, `${whole.toNdjson()}\n{"event_id":"cut sh`);
    const exporter = new NdjsonFileExporter(path);
    const next = makeRecord();
    exporter.export(next);
    await exporter.close();
    const lines = readFileSync(path, "utf8").split("\n");
    expect(lines).toEqual([whole.toNdjson(), '{"event_id":"cut sh', next.toNdjson(), ""]);
  });
});
