import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/** The package's root directory. */
export const packageRoot = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Plain Node (a child process) cannot load the TypeScript sources vitest
 * runs: this transpiles `src/` (no type check: `tsc` does that) into a fresh
 * directory beside `src/`, so that `../package.json` and the dependencies
 * resolve as they do from `dist/`. The package need not be built first.
 * Returns the directory and a function that removes it.
 */
export function compileSources(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(packageRoot, `.${prefix}-`));
  for (const name of readdirSync(join(packageRoot, "src")).filter((f) => f.endsWith(".ts"))) {
    const { outputText } = ts.transpileModule(
      readFileSync(join(packageRoot, "src", name), "utf8"),
      {
        compilerOptions: {
          module: ts.ModuleKind.ESNext,
          target: ts.ScriptTarget.ES2023,
          verbatimModuleSyntax: true,
        },
        fileName: name,
      },
    );
    writeFileSync(join(dir, name.replace(/\.ts$/, ".js")), outputText);
  }
  writeFileSync(join(dir, "package.json"), '{"type":"module"}\n');
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
