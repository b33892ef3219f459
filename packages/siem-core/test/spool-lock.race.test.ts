import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compiledCoreUrl } from "./helpers/compiled-core.js";

// Several processes start on one spool directory at the same moment, over a
// lock left by a dead process: exactly one may own it; every other one gets
// the documented error, never a raw file-system error.

let coreUrl: string;
const dirs: string[] = [];
beforeAll(async () => {
  coreUrl = await compiledCoreUrl();
}, 60_000);
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Starts a contender that tries to take the spool at `startAt` and prints
 * "owner" or "refused: …". An owner holds the lock until its stdin closes:
 * the parent closes every stdin only once all have answered, so that a
 * contender slowed down by a busy machine cannot find the lock stale again.
 */
function contender(dir: string, startAt: number): { answer: Promise<string>; release: () => void } {
  const source = `import * as core from ${JSON.stringify(coreUrl)};
while (Date.now() < ${startAt}) {}
try {
  new core.BufferedExporter({ async exportBatch() {} }, { spool: { dir: ${JSON.stringify(dir)}, fsync: "never" } });
  console.log("owner");
} catch (error) {
  console.log("refused: " + error.message);
}
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", source], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const answer = new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("\n")) resolve(out.trim());
    });
    child.on("error", reject);
    child.on("close", () => resolve(out.trim()));
  });
  return { answer, release: () => child.stdin.end() };
}

describe("spool lock", () => {
  it("lets exactly one of several simultaneous processes take over a stale lock", async () => {
    for (let trial = 0; trial < 3; trial++) {
      const dir = mkdtempSync(join(tmpdir(), "a1-spool-lock-"));
      dirs.push(dir);
      writeFileSync(join(dir, "LOCK"), "999999999\n");
      const startAt = Date.now() + 1000;
      const contenders = Array.from({ length: 5 }, () => contender(dir, startAt));
      const results = await Promise.all(contenders.map((c) => c.answer));
      for (const c of contenders) c.release();
      expect(results.filter((result) => result === "owner")).toHaveLength(1);
      for (const result of results.filter((r) => r !== "owner")) {
        expect(result).toMatch(
          /^refused: spool directory is (in use by process \d+|being locked by another process)/,
        );
      }
    }
  }, 60_000);
});
