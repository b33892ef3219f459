import { networkExportError } from "@a1/siem-core";
import { describeAnswer } from "./classify-hec-answer.js";
import type { HecAnswer, HecClient } from "./hec-client.js";
import { HEC_CODES, TOKEN_CODES } from "./hec-codes.js";

/** What a health check found wrong. */
export type SplunkHealthProblem =
  /** Nothing answered: DNS, connection refused or reset, or no answer in time. */
  | "unreachable"
  /** The TLS handshake failed (certificate not trusted, wrong host name, …). */
  | "tls"
  /** HEC refused the token: unknown, disabled, or missing. */
  | "token"
  /** HEC answered 503: queues full or acknowledgement service down (codes 18-20). */
  | "unhealthy"
  /** `ack` is on but the token does not have indexer acknowledgement. */
  | "ack"
  /** Something else answered (wrong url, a proxy's page, …). */
  | "unexpected"
  /** The exporter is closed. */
  | "closed";

/** The result of `SplunkHecExporter.healthCheck()`. */
export interface SplunkHealth {
  /** True when HEC is reachable, healthy and takes the token. */
  readonly healthy: boolean;
  /** What is wrong, when not healthy. */
  readonly problem?: SplunkHealthProblem;
  /** What was found, in words, with what to do about it. Never holds the token. */
  readonly message: string;
  /** HTTP status of HEC's answer, when there was one. */
  readonly status?: number;
  /** HEC's answer code, when it sent one. */
  readonly code?: number;
}

/**
 * Asks `GET /services/collector/health/1.0` with the token (as Vector's
 * health check does: HEC then also says whether it takes the token), and, when
 * acknowledgement is on, whether the token allows it. Never throws.
 */
export async function checkHecHealth(
  client: HecClient,
  options: { readonly timeoutMs: number; readonly ack: boolean; readonly closed: boolean },
): Promise<SplunkHealth> {
  const where = client.where;
  if (options.closed) {
    return { healthy: false, problem: "closed", message: "the exporter is closed" };
  }
  let answer: HecAnswer;
  try {
    answer = await client.request("GET", "/services/collector/health/1.0", undefined, {
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (cause) {
    return unreachable(client, cause, where, options.timeoutMs);
  }
  const verdict = readHealthAnswer(answer, where);
  if (!verdict.healthy || !options.ack) return verdict;
  try {
    const ack = await client.request("POST", "/services/collector/ack", '{"acks":[]}', {
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    if (ack.status >= 400) {
      return {
        healthy: false,
        problem: "ack",
        status: ack.status,
        ...(ack.json?.code === undefined ? {} : { code: ack.json.code }),
        message: `HEC at ${where} is healthy, but its acknowledgement endpoint answered ${describeAnswer(ack)}: turn on indexer acknowledgement for this token, or leave the ack option off`,
      };
    }
  } catch (cause) {
    return unreachable(client, cause, where, options.timeoutMs);
  }
  return verdict;
}

function readHealthAnswer(answer: HecAnswer, where: string): SplunkHealth {
  const code = answer.json?.code;
  const found = {
    status: answer.status,
    ...(code === undefined ? {} : { code }),
  };
  const said = describeAnswer(answer);
  if (answer.status === 200) {
    return { healthy: true, ...found, message: `HEC at ${where} is healthy (${said})` };
  }
  if (
    answer.status === 401 ||
    answer.status === 403 ||
    (answer.status === 400 && (code === undefined || TOKEN_CODES.has(code)))
  ) {
    return {
      healthy: false,
      problem: "token",
      ...found,
      message: `HEC at ${where} refused the token (${said}): check the token option or SPLUNK_HEC_TOKEN, and that the token is enabled`,
    };
  }
  if (answer.status === 503) {
    const why = code === undefined ? undefined : HEC_CODES[code]?.text;
    return {
      healthy: false,
      problem: "unhealthy",
      ...found,
      message: `HEC at ${where} is unhealthy (${said})${why ? "" : ": it is overloaded or starting"}; the exporter retries while it is`,
    };
  }
  return {
    healthy: false,
    problem: "unexpected",
    ...found,
    message: `${where}/services/collector/health/1.0 answered ${said}, which is not HEC's health answer: check the url option (HEC listens on port 8088 by default) and that HEC is enabled`,
  };
}

function unreachable(
  client: HecClient,
  cause: unknown,
  where: string,
  timeoutMs: number,
): SplunkHealth {
  if ((cause as { name?: unknown })?.name === "TimeoutError") {
    return {
      healthy: false,
      problem: "unreachable",
      message: `no answer from HEC at ${where} within ${timeoutMs} ms`,
    };
  }
  const error = networkExportError(cause);
  const message = client.redact(error.message);
  if (!error.retryable) {
    return { healthy: false, problem: "tls", message: `cannot reach HEC at ${where}: ${message}` };
  }
  return {
    healthy: false,
    problem: "unreachable",
    message: `cannot reach HEC at ${where}: ${message}`,
  };
}
