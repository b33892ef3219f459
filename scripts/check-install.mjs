// The install promise, checked the way a user meets it: pack every package
// as it would be published, then in fresh projects outside the workspace
// install one backend (plus core) from the tarballs with npm, and check that
// nothing else of ours or of another backend came along, that the packed
// manifest has real version ranges, and that both an ESM import and a
// CommonJS require construct the exporter.
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const work = mkdtempSync(join(tmpdir(), "a1-siem-install-"));
const packs = join(work, "packs");
mkdirSync(packs);

const run = (command, args, cwd) =>
  execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

const tarballs = {};
for (const dir of readdirSync(join(root, "packages")).sort()) {
  const manifest = JSON.parse(readFileSync(join(root, "packages", dir, "package.json"), "utf8"));
  // Private packages (the shared test helpers) are never published.
  if (manifest.private) continue;
  const before = new Set(readdirSync(packs));
  run("pnpm", ["pack", "--pack-destination", packs], join(root, "packages", dir));
  const made = readdirSync(packs).find((name) => !before.has(name));
  tarballs[manifest.name] = join(packs, made);
}

// What each backend needs to construct; none of them sends anything here.
const cases = [
  {
    name: "@a1/siem-file",
    make: "new m.NdjsonFileExporter(join(dir, 'audit.ndjson'))",
    importing: "NdjsonFileExporter",
    thirdParty: [],
  },
  {
    name: "@a1/siem-splunk",
    make: "new m.SplunkHecExporter({ url: 'http://127.0.0.1:8088', token: 'install-check-token' })",
    importing: "SplunkHecExporter",
    thirdParty: ["undici"],
  },
  {
    name: "@a1/siem-datadog",
    make: "new m.DatadogLogExporter({ apiKey: 'install-check-key', url: 'http://127.0.0.1:9' })",
    importing: "DatadogLogExporter",
    thirdParty: ["undici"],
  },
  {
    name: "@a1/siem-otel",
    make: "new m.OpenTelemetryExporter({ endpoint: 'http://127.0.0.1:4318' })",
    importing: "OpenTelemetryExporter",
    thirdParty: ["@opentelemetry"],
  },
];

let failures = 0;
const check = (ok, message) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${message}`);
  if (!ok) failures++;
};

for (const testCase of cases) {
  if (!tarballs[testCase.name]) {
    check(false, `${testCase.name}: no tarball`);
    continue;
  }
  const dir = join(work, testCase.name.replace("@a1/", ""));
  mkdirSync(dir);
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ name: "install-check", private: true, version: "0.0.0" }),
  );
  run(
    "npm",
    [
      "install",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      tarballs["@a1/siem-core"],
      tarballs[testCase.name],
    ],
    dir,
  );

  const packed = JSON.parse(
    readFileSync(join(dir, "node_modules", testCase.name, "package.json"), "utf8"),
  );
  const coreRange = packed.dependencies?.["@a1/siem-core"];
  check(
    typeof coreRange === "string" && !coreRange.startsWith("workspace:"),
    `${testCase.name}: depends on @a1/siem-core ${coreRange}`,
  );

  const ours = readdirSync(join(dir, "node_modules", "@a1")).sort();
  check(
    JSON.stringify(ours) ===
      JSON.stringify(["siem-core", testCase.name.replace("@a1/", "")].sort()),
    `${testCase.name}: only core and itself of @a1 installed (${ours.join(", ")})`,
  );
  const top = readdirSync(join(dir, "node_modules")).filter((name) => !name.startsWith("."));
  const allowed = new Set(["@a1", ...testCase.thirdParty]);
  if (testCase.thirdParty.length === 0) {
    check(
      top.length === 1 && top[0] === "@a1",
      `${testCase.name}: no third-party runtime dependency (${top.join(", ")})`,
    );
  } else {
    check(
      top.filter((name) => name.startsWith("@opentelemetry")).length === 0 ||
        allowed.has("@opentelemetry"),
      `${testCase.name}: no @opentelemetry package unless it is the OTel backend`,
    );
    const pulled = top.filter((name) => !allowed.has(name));
    check(
      pulled.length === 0,
      `${testCase.name}: nothing installed beyond @a1 and ${testCase.thirdParty.join(", ")} (${pulled.join(", ") || "nothing else"})`,
    );
  }

  const esm = `import { join } from "node:path";\nimport * as m from "${testCase.name}";\nconst dir = process.argv[2];\nconst exporter = ${testCase.make};\nawait exporter.close();\nconsole.log(typeof m.${testCase.importing}, JSON.stringify(exporter.stats()));\n`;
  const cjs = `const { join } = require("node:path");\nconst m = require("${testCase.name}");\nconst dir = process.argv[2];\nconst exporter = ${testCase.make};\nexporter.close().then(() => console.log(typeof m.${testCase.importing}, JSON.stringify(exporter.stats())));\n`;
  writeFileSync(join(dir, "check.mjs"), esm);
  writeFileSync(join(dir, "check.cjs"), cjs);
  for (const script of ["check.mjs", "check.cjs"]) {
    try {
      const output = run(process.execPath, ["--no-warnings", script, dir], dir).trim();
      check(
        output.startsWith("function"),
        `${testCase.name}: ${script.endsWith("cjs") ? "require()" : "import"} constructs the exporter on Node ${process.version}`,
      );
    } catch (error) {
      check(false, `${testCase.name}: ${script} failed: ${error.stderr || error.message}`);
    }
  }
}

if (existsSync(work)) rmSync(work, { recursive: true, force: true });
console.log(failures === 0 ? "install check: all passed" : `install check: ${failures} failure(s)`);
process.exit(failures === 0 ? 0 : 1);
