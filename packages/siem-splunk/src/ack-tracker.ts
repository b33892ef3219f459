import { type ConfigurationAlarm, ExportError } from "@a1/siem-core";
import { type ConfigurationProblem, describeAnswer } from "./classify-hec-answer.js";
import type { HecClient } from "./hec-client.js";

interface Waiter {
  readonly deadline: number;
  settle(error?: unknown): void;
}

export interface AckTrackerOptions {
  readonly pollIntervalMs: number;
  readonly timeoutMs: number;
  /** Limit of one poll request. */
  readonly requestTimeoutMs: number;
}

/**
 * Waits for HEC's indexer acknowledgements. Every batch that HEC accepted
 * with an `ackId` waits here; one timer polls `/services/collector/ack` for
 * all waiting ids in a single request (`{"acks":[ids]}` →
 * `{"acks":{"id":true|false}}`), so ten batches in flight cost one poll,
 * not ten. A batch not acknowledged within `timeoutMs` is rejected with a
 * retryable error; the sender lets the engine send it again up to
 * `ack.maxResends` times.
 */
export class AckTracker {
  readonly #client: HecClient;
  readonly #options: AckTrackerOptions;
  readonly #alarm: ConfigurationAlarm<ConfigurationProblem>;
  readonly #waiting = new Map<number, Waiter>();
  #timer: NodeJS.Timeout | undefined;
  #polling = false;
  #closed = false;

  constructor(
    client: HecClient,
    options: AckTrackerOptions,
    alarm: ConfigurationAlarm<ConfigurationProblem>,
  ) {
    this.#client = client;
    this.#options = options;
    this.#alarm = alarm;
  }

  /** Resolves once Splunk acknowledges `ackId`; rejects at the deadline or when `signal` aborts. */
  wait(ackId: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      if (this.#closed) {
        reject(
          new ExportError("the exporter closed before Splunk acknowledged the batch", {
            retryable: true,
          }),
        );
        return;
      }
      // Splunk numbers acks per channel; a reused id means the channel was
      // reset on Splunk's side and the older batch will never be acknowledged.
      this.#take(ackId)?.settle(
        new ExportError(
          `Splunk reused ackId ${ackId}: its earlier batch will not be acknowledged`,
          {
            retryable: true,
          },
        ),
      );
      const onAbort = (): void => {
        if (this.#waiting.get(ackId) === waiter) this.#waiting.delete(ackId);
        reject(signal.reason);
      };
      const waiter: Waiter = {
        deadline: Date.now() + this.#options.timeoutMs,
        settle: (error) => {
          signal.removeEventListener("abort", onAbort);
          if (error === undefined) resolve();
          else reject(error);
        },
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiting.set(ackId, waiter);
      this.#schedule();
    });
  }

  /** Stops polling; batches still waiting are rejected as retryable. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const [id, waiter] of [...this.#waiting]) {
      this.#waiting.delete(id);
      waiter.settle(
        new ExportError("the exporter closed before Splunk acknowledged the batch", {
          retryable: true,
        }),
      );
    }
  }

  #take(ackId: number): Waiter | undefined {
    const waiter = this.#waiting.get(ackId);
    if (waiter) this.#waiting.delete(ackId);
    return waiter;
  }

  #schedule(): void {
    if (this.#closed || this.#timer || this.#polling || this.#waiting.size === 0) return;
    this.#timer = setTimeout(this.#tick, this.#options.pollIntervalMs);
    // The engine keeps the process alive while a flush waits; the poll timer must not.
    this.#timer.unref();
  }

  readonly #tick = async (): Promise<void> => {
    this.#timer = undefined;
    this.#polling = true;
    try {
      this.#expire();
      if (this.#waiting.size > 0) await this.#poll();
      this.#expire();
    } finally {
      this.#polling = false;
      this.#schedule();
    }
  };

  async #poll(): Promise<void> {
    const ids = [...this.#waiting.keys()];
    let answer: Awaited<ReturnType<HecClient["request"]>>;
    try {
      answer = await this.#client.request(
        "POST",
        "/services/collector/ack",
        JSON.stringify({ acks: ids }),
        { signal: AbortSignal.timeout(this.#options.requestTimeoutMs) },
      );
    } catch {
      return; // Unreachable for now: the next tick asks again, the deadline still holds.
    }
    const acks = answer.json?.acks;
    if (answer.status !== 200 || acks === undefined) {
      const code = answer.json?.code;
      if (code === 10 || code === 11 || code === 14) {
        this.#alarm.raise(
          "ack",
          `Splunk HEC configuration error: the acknowledgement endpoint answered ${describeAnswer(answer)}; turn indexer acknowledgement on for the token, or leave the ack option off`,
        );
      }
      return;
    }
    for (const id of ids) {
      if (acks[String(id)] === true) this.#take(id)?.settle();
    }
  }

  #expire(): void {
    const now = Date.now();
    for (const [id, waiter] of [...this.#waiting]) {
      if (waiter.deadline > now) continue;
      this.#waiting.delete(id);
      waiter.settle(
        new ExportError(
          `Splunk did not acknowledge indexing within ${this.#options.timeoutMs} ms (ackId ${id}); sending it again may index it twice`,
          { retryable: true },
        ),
      );
    }
  }
}
