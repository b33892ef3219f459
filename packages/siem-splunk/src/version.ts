import { createRequire } from "node:module";

// Read from package.json at run time so that a changeset bump never leaves a
// stale version in the User-Agent. The path is the same from src/ and dist/.
const { version } = createRequire(import.meta.url)("../package.json") as { version: string };

/** This package's version. */
export const PACKAGE_VERSION: string = version;

/** The User-Agent of every request, so that Splunk admins can tell A1's traffic apart. */
export const USER_AGENT = `a1-siem-splunk/${version}`;
