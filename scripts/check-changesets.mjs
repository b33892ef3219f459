// Checks that versions are independent: in a scratch copy of the workspace
// manifests, a changeset for one backend bumps only that backend, and a
// changeset for core bumps core and patches its dependents' ranges
// (updateInternalDependencies: "patch"), as .changeset/config.json says.
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const changesetBin = join(root, "node_modules", "@changesets", "cli", "bin.js");
// Published packages only: private ones (the shared test helpers) have no version to bump.
const packageDirs = readdirSync(join(root, "packages"))
  .map((name) => join("packages", name))
  .filter((dir) => !JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")).private);
const manifests = [
  "package.json",
  "pnpm-workspace.yaml",
  "demo/package.json",
  "bench/package.json",
];
manifests.push(...packageDirs.map((dir) => join(dir, "package.json")));

function scratch() {
  const dir = mkdtempSync(join(tmpdir(), "a1-siem-changesets-"));
  for (const file of [...manifests, ...packageDirs.map((dir) => join(dir, "CHANGELOG.md"))]) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(root, file), join(dir, file));
  }
  mkdirSync(join(dir, ".changeset"));
  cpSync(join(root, ".changeset", "config.json"), join(dir, ".changeset", "config.json"));
  // changesets asks git for the repository root.
  execFileSync("git", ["init", "-q"], { cwd: dir });
  return dir;
}

const versions = (dir) =>
  Object.fromEntries(
    packageDirs.map((pkg) => {
      const manifest = JSON.parse(readFileSync(join(dir, pkg, "package.json"), "utf8"));
      return [
        manifest.name,
        { version: manifest.version, core: manifest.dependencies?.["@a1/siem-core"] },
      ];
    }),
  );

function bump(changeset) {
  const dir = scratch();
  writeFileSync(join(dir, ".changeset", "check.md"), changeset);
  const before = versions(dir);
  execFileSync(process.execPath, [changesetBin, "version"], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const after = versions(dir);
  const changelogs = Object.fromEntries(
    packageDirs.map((pkg) => {
      const file = join(dir, pkg, "CHANGELOG.md");
      return [
        JSON.parse(readFileSync(join(dir, pkg, "package.json"), "utf8")).name,
        existsSync(file) ? readFileSync(file, "utf8") : "",
      ];
    }),
  );
  rmSync(dir, { recursive: true, force: true });
  return { before, after, changelogs };
}

let failures = 0;
const check = (ok, message) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${message}`);
  if (!ok) failures++;
};

{
  const { before, after, changelogs } = bump(
    '---\n"@a1/siem-splunk": minor\n---\n\nA Splunk-only change.\n',
  );
  const entry = changelogs["@a1/siem-splunk"];
  check(
    entry.startsWith("# @a1/siem-splunk\n") &&
      entry.includes(`## ${after["@a1/siem-splunk"].version}`) &&
      entry.includes("A Splunk-only change."),
    "changesets writes the entry into the package's CHANGELOG.md",
  );
  const changed = Object.keys(after).filter((name) => after[name].version !== before[name].version);
  check(
    changed.length === 1 && changed[0] === "@a1/siem-splunk",
    `a splunk changeset bumps only @a1/siem-splunk (bumped: ${changed.join(", ") || "none"})`,
  );
}
{
  const { before, after } = bump('---\n"@a1/siem-core": minor\n---\n\nA core change.\n');
  const core = after["@a1/siem-core"];
  check(
    core.version !== before["@a1/siem-core"].version,
    `a core changeset bumps core to ${core.version}`,
  );
  for (const name of Object.keys(after).filter((name) => name !== "@a1/siem-core")) {
    const ok = after[name].core === "workspace:^" && after[name].version !== before[name].version;
    check(
      ok,
      `${name} keeps its workspace:^ range on core and gets a patch release (${before[name].version} → ${after[name].version})`,
    );
  }
}
console.log(
  failures === 0 ? "changesets check: all passed" : `changesets check: ${failures} failure(s)`,
);
process.exit(failures === 0 ? 0 : 1);
