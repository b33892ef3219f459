import { isRetryableStatus, parseRetryAfter } from "@a1/siem-core";
import type { HecAnswer } from "./hec-client.js";
import { EVENT_CODES, HEC_CODES, TOKEN_CODES } from "./hec-codes.js";

/** Which setting a configuration error is about (each is announced once). */
export type ConfigurationProblem = "token" | "index" | "ack" | "url" | "tls";

/** What an answer to a batch means for its records. */
export type Verdict =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly message: string;
      readonly status: number;
      readonly retryable: boolean;
      readonly retryAfterMs?: number;
      readonly tooLarge?: boolean;
      /** Set when no retry can help until someone changes a setting. */
      readonly configuration?: ConfigurationProblem;
      /**
       * HEC read the batch in order and stopped at this event, which it
       * refused; whether it indexed the events before it is not said.
       */
      readonly invalidEventNumber?: number;
      /** True when only the named event is bad; the ones after it were never read. */
      readonly onlyThatEvent?: boolean;
    };

/** `HTTP 503, code 9 "Server is busy"`: the answer in words, from Splunk's text or the code table. */
export function describeAnswer(answer: HecAnswer): string {
  const code = answer.json?.code;
  if (code === undefined) return `HTTP ${answer.status}`;
  const text = answer.json?.text ?? HEC_CODES[code]?.text;
  return `HTTP ${answer.status}, code ${code}${text ? ` ${JSON.stringify(text)}` : ""}`;
}

/**
 * Classifies HEC's answer to a batch by HTTP status and HEC code:
 * retryable (408, 429, 5xx but 501/505 — HEC's 500 code 8 and 503 codes 9,
 * 18-20 among them), too large (413, the engine splits), or permanent (the
 * other 4xx; 401/403 and codes 21/22 are token problems, 7 a wrong index,
 * 10/11/14 an acknowledgement mismatch, 404 and 3xx a wrong url).
 */
export function classifyHecAnswer(answer: HecAnswer, where: string): Verdict {
  const { status } = answer;
  if (status >= 200 && status < 300) return { ok: true };
  const code = answer.json?.code;
  const said = describeAnswer(answer);
  if (status === 413) {
    return {
      ok: false,
      status,
      retryable: false,
      tooLarge: true,
      message: `Splunk HEC refused the request as too large (${said}); the batch is split. Keep maxBatchBytes under HEC's max_content_length ([http_input] in limits.conf)`,
    };
  }
  if (isRetryableStatus(status)) {
    const retryAfterMs = parseRetryAfter(answer.headers["retry-after"]);
    return {
      ok: false,
      status,
      retryable: true,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      message: `Splunk HEC could not take the batch now (${said})`,
    };
  }
  if (status === 401 || status === 403 || (code !== undefined && TOKEN_CODES.has(code))) {
    return {
      ok: false,
      status,
      retryable: false,
      configuration: "token",
      message: `Splunk HEC configuration error: the HEC token was refused (${said}). Check the token option or SPLUNK_HEC_TOKEN, and that the token is enabled (Splunk Web > Settings > Data inputs > HTTP Event Collector)`,
    };
  }
  const invalid = answer.json?.invalidEventNumber;
  const position = invalid === undefined ? {} : { invalidEventNumber: invalid };
  if (code === 7) {
    return {
      ok: false,
      status,
      retryable: false,
      configuration: "index",
      ...position,
      message: `Splunk HEC configuration error: this token may not write to the configured index (${said}). Add the index to the token's allowed indexes, or change the index option`,
    };
  }
  if (code === 10 || code === 11 || code === 14) {
    return {
      ok: false,
      status,
      retryable: false,
      configuration: "ack",
      message: `Splunk HEC configuration error: indexer acknowledgement does not match the token (${said}). ${
        code === 10
          ? "The token has indexer acknowledgement on: pass ack: true, or turn it off for the token"
          : "Turn indexer acknowledgement on for the token, or leave the ack option off"
      }`,
    };
  }
  if (status === 404 || (status >= 300 && status < 400)) {
    const location = answer.headers.location;
    return {
      ok: false,
      status,
      retryable: false,
      configuration: "url",
      message: `Splunk HEC configuration error: ${where}/services/collector/event answered ${said}${
        typeof location === "string" ? ` towards ${location}` : ""
      }. Check the url option (HEC listens on port 8088 by default) and that HEC is enabled`,
    };
  }
  return {
    ok: false,
    status,
    retryable: false,
    ...position,
    ...(code !== undefined && EVENT_CODES.has(code) && invalid !== undefined
      ? { onlyThatEvent: true }
      : {}),
    message: `Splunk HEC refused the ${invalid === undefined ? "batch" : `event at position ${invalid} of the request`} (${said})`,
  };
}
