/**
 * Every Datadog site and the region it is known by. Source: the endpoint table
 * of "Send logs" (https://docs.datadoghq.com/api/latest/logs/send-logs/) and
 * "Getting Started with Datadog Sites"
 * (https://docs.datadoghq.com/getting_started/site/).
 */
export const DATADOG_SITES = {
  "datadoghq.com": "US1",
  "us3.datadoghq.com": "US3",
  "us5.datadoghq.com": "US5",
  "datadoghq.eu": "EU1",
  "ap1.datadoghq.com": "AP1",
  "ap2.datadoghq.com": "AP2",
  "uk1.datadoghq.com": "UK1",
  "ddog-gov.com": "US1-FED",
  "us2.ddog-gov.com": "US2-FED",
} as const;

/** A Datadog site parameter, e.g. `"datadoghq.eu"`. */
export type DatadogSite = keyof typeof DATADOG_SITES;

/** The site used when neither the `site` option nor `DD_SITE` is set. */
export const DEFAULT_SITE: DatadogSite = "datadoghq.com";

/** Path of the logs intake v2 under the intake origin. */
export const INTAKE_PATH = "/api/v2/logs";

export function isDatadogSite(value: string): value is DatadogSite {
  return Object.hasOwn(DATADOG_SITES, value);
}

/**
 * Checks a site given by the user (option or `DD_SITE`). Throws an error that
 * lists the valid sites; a site URL pasted from the browser
 * (`app.datadoghq.eu`) gets a hint.
 */
export function resolveSite(value: unknown, from: "site" | "DD_SITE"): DatadogSite {
  if (typeof value === "string" && isDatadogSite(value.trim().toLowerCase())) {
    return value.trim().toLowerCase() as DatadogSite;
  }
  const valid = Object.entries(DATADOG_SITES)
    .map(([site, region]) => `${site} (${region})`)
    .join(", ");
  const given = typeof value === "string" ? JSON.stringify(value) : `a ${typeof value}`;
  const hint =
    typeof value === "string" && /^(app\.|https?:)/i.test(value.trim())
      ? " Use the site parameter, not the web address: app.datadoghq.eu is site datadoghq.eu."
      : "";
  return throwUnknownSite(
    `DatadogLogExporter: unknown Datadog ${from} ${given}. Valid sites: ${valid}.${hint}`,
  );
}

function throwUnknownSite(message: string): never {
  throw new RangeError(message);
}

/** `https://http-intake.logs.<site>`: the intake origin of a site. */
export function intakeOrigin(site: DatadogSite): string {
  return `https://http-intake.logs.${site}`;
}
