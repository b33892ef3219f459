/** The longest Retry-After the engine honours; a larger value is taken as this. */
export const MAX_RETRY_AFTER_MS = 5 * 60_000;

/**
 * Exponential backoff with full jitter: a uniformly random delay between 0
 * and `min(maxDelayMs, initialDelayMs * 2^(attempt-1))`. Full jitter spreads
 * the retries of many clients after a shared outage (AWS Architecture Blog,
 * "Exponential Backoff And Jitter").
 */
export function backoffDelay(
  attempt: number,
  retry: { readonly initialDelayMs: number; readonly maxDelayMs: number },
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** Resolves after `ms`; the timer never keeps the process alive by itself. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    setTimeout(resolve, ms).unref();
  });
}
