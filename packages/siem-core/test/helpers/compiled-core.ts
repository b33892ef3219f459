import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";

const packageDir = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Compiles the current src/ to JavaScript in a temporary directory (keyed by
 * a hash of the sources, so test files share one build) and returns the
 * file URL of its index.js. Child processes import this rather than dist/,
 * which may be stale or still being built.
 */
export async function compiledCoreUrl(): Promise<string> {
  const srcDir = join(packageDir, "src");
  const hash = createHash("sha256");
  for (const name of (await readdir(srcDir)).sort()) {
    hash.update(name).update(await readFile(join(srcDir, name)));
  }
  const target = join(tmpdir(), `a1-siem-core-build-${hash.digest("hex").slice(0, 16)}`);
  const marker = join(target, ".complete");
  if (!existsSync(marker)) {
    const staging = await mkdtemp(join(tmpdir(), "a1-siem-core-staging-"));
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
    await promisify(execFile)(
      process.execPath,
      [tsc, "-p", join(packageDir, "tsconfig.build.json"), "--outDir", staging].concat([
        "--declaration",
        "false",
        "--declarationMap",
        "false",
        "--sourceMap",
        "false",
      ]),
      { cwd: packageDir },
    );
    await writeFile(join(staging, ".complete"), "");
    try {
      await rename(staging, target);
    } catch {
      // Another test file finished the same build first.
      await rm(staging, { recursive: true, force: true });
    }
  }
  return pathToFileURL(join(target, "index.js")).href;
}
