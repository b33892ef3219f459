import { chmodSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NdjsonFileExporter } from "../src/index.js";
import { makeRecord, tempDir } from "./support/helpers.js";

const dir = tempDir();
const permissions = (path: string) => statSync(path).mode & 0o7777;

describe("NdjsonFileExporter file mode", () => {
  // A umask that would change every mode under test if it applied: 0o022
  // removes group and world write, so 0o666 would become 0o644.
  let previousUmask: number;
  beforeEach(() => {
    previousUmask = process.umask(0o022);
  });
  afterEach(() => {
    process.umask(previousUmask);
  });

  it("creates the file 0600 by default: audit records are readable by their owner only", async () => {
    const path = join(dir, "default.ndjson");
    const exporter = new NdjsonFileExporter(path);
    expect(permissions(path)).toBe(0o600);
    exporter.export(makeRecord());
    await exporter.close();
    expect(permissions(path)).toBe(0o600);
  });

  it("creates the file with exactly the given mode, whatever the umask", async () => {
    const path = join(dir, "group.ndjson");
    const exporter = new NdjsonFileExporter(path, { mode: 0o664 });
    expect(permissions(path)).toBe(0o664);
    await exporter.close();
  });

  it("leaves the mode of an existing file alone", async () => {
    const path = join(dir, "existing.ndjson");
    writeFileSync(path, "");
    chmodSync(path, 0o640);
    const exporter = new NdjsonFileExporter(path, { mode: 0o600 });
    exporter.export(makeRecord());
    await exporter.close();
    expect(permissions(path)).toBe(0o640);
  });

  it("creates files made by rotation and reopen() with the mode too", async () => {
    const path = join(dir, "rotating.ndjson");
    const exporter = new NdjsonFileExporter(path, { mode: 0o640, maxBytes: 10, maxFiles: 2 });
    exporter.export(makeRecord());
    exporter.export(makeRecord());
    expect(exporter.stats().rotations).toBe(1);
    expect(permissions(path)).toBe(0o640);
    expect(permissions(`${path}.1`)).toBe(0o640);
    renameSync(path, `${path}.moved`);
    exporter.reopen();
    expect(permissions(path)).toBe(0o640);
    await exporter.close();
  });
});
