import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterAll } from "vitest";

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * Child processes run plain Node, which cannot load the TypeScript sources
 * vitest runs. This transpiles `src/` (no type check: `tsc` does that) into
 * a directory under the package's node_modules, where `@a1/siem-core`
 * resolves as it does for `dist/`, and returns the path of its `index.js`.
 * The package need not be built first.
 */
export function compileForChildren(): string {
  const cache = join(packageRoot, "node_modules", ".cache");
  mkdirSync(cache, { recursive: true });
  const out = mkdtempSync(join(cache, "siem-file-test-"));
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  const src = join(packageRoot, "src");
  for (const name of readdirSync(src).filter((file) => file.endsWith(".ts"))) {
    const { outputText } = ts.transpileModule(readFileSync(join(src, name), "utf8"), {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2023,
        verbatimModuleSyntax: true,
      },
      fileName: name,
    });
    writeFileSync(join(out, name.replace(/\.ts$/, ".js")), outputText);
  }
  writeFileSync(join(out, "package.json"), '{"type":"module"}\n');
  return join(out, "index.js");
}

/** The child script that appends records through the exporter (see its header). */
export const appendChild = join(packageRoot, "test", "fixtures", "append-child.mjs");
