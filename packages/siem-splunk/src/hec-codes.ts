/**
 * HEC's JSON answer codes with the HTTP status Splunk pairs them with and its
 * text (Splunk's "Troubleshoot HTTP Event Collector" table). Used to explain
 * an answer in words when Splunk's own text is missing.
 */
export const HEC_CODES: Readonly<
  Record<number, { readonly status: number; readonly text: string }>
> = {
  0: { status: 200, text: "Success" },
  1: { status: 403, text: "Token disabled" },
  2: { status: 401, text: "Token is required" },
  3: { status: 401, text: "Invalid authorization" },
  4: { status: 403, text: "Invalid token" },
  5: { status: 400, text: "No data" },
  6: { status: 400, text: "Invalid data format" },
  7: { status: 400, text: "Incorrect index" },
  8: { status: 500, text: "Internal server error" },
  9: { status: 503, text: "Server is busy" },
  10: { status: 400, text: "Data channel is missing" },
  11: { status: 400, text: "Invalid data channel" },
  12: { status: 400, text: "Event field is required" },
  13: { status: 400, text: "Event field cannot be blank" },
  14: { status: 400, text: "ACK is disabled" },
  15: { status: 400, text: "Error in handling indexed fields" },
  16: { status: 400, text: "Query string authorization is not enabled" },
  17: { status: 200, text: "HEC is healthy" },
  18: { status: 503, text: "HEC is unhealthy, queues are full" },
  19: { status: 503, text: "HEC is unhealthy, ack service unavailable" },
  20: { status: 503, text: "HEC is unhealthy, queues are full, ack service unavailable" },
  21: { status: 400, text: "Invalid token" },
  22: { status: 400, text: "Token disabled" },
};

/** Codes that say the token is wrong, missing or disabled: a configuration error. */
export const TOKEN_CODES: ReadonlySet<number> = new Set([1, 2, 3, 4, 21, 22]);

/**
 * Codes about one event of a batch (named by `invalid-event-number`): only
 * that event is refused; the ones after it were never read and can be sent again.
 */
export const EVENT_CODES: ReadonlySet<number> = new Set([6, 12, 13, 15]);
