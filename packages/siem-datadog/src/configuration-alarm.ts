import { ConfigurationAlarm } from "@a1/siem-core";

/** A setting that makes Datadog refuse every batch until someone changes it. */
export type ConfigurationProblem = "api-key" | "tls" | "url";

/**
 * The exporter's alarm for configuration errors (a refused API key, a TLS
 * failure, a wrong `url`): one process warning per problem, see core's
 * `ConfigurationAlarm`.
 */
export function datadogConfigurationAlarm(): ConfigurationAlarm<ConfigurationProblem> {
  return new ConfigurationAlarm<ConfigurationProblem>({
    source: "DatadogLogExporter",
    type: "DatadogConfigurationWarning",
    code: "A1_SIEM_DATADOG_CONFIG",
  });
}

/** The setting an HTTP answer points at, if any. */
export function problemOfStatus(status: number): ConfigurationProblem | undefined {
  if (status === 401 || status === 403) return "api-key";
  if (status === 404 || status === 405 || (status >= 300 && status < 400)) return "url";
  return undefined;
}
