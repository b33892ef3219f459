import { expect } from "vitest";

/**
 * The counters of core's `ExporterStats` that the invariant involves (typed
 * here by shape: this package must not depend on core, whose tests use it).
 */
export interface AccountingStats {
  readonly received: number;
  readonly delivered: number;
  readonly failed: number;
  readonly dropped: number;
  readonly pending: number;
  /** With a spool: records left on disk at close. */
  readonly retained?: number;
}

/**
 * The accounting invariant of every exporter:
 * `received === delivered + failed + dropped + pending (+ retained, with a
 * spool)`, and no counter below zero. For places that cannot throw (an
 * `onError`, a server handler): collect the failures and check later.
 */
export function isBalanced(stats: AccountingStats): boolean {
  const retained = stats.retained ?? 0;
  const counters = [
    stats.received,
    stats.delivered,
    stats.failed,
    stats.dropped,
    stats.pending,
    retained,
  ];
  return (
    counters.every((value) => value >= 0) &&
    stats.received === stats.delivered + stats.failed + stats.dropped + stats.pending + retained
  );
}

/** Asserts the accounting invariant, showing every counter when it does not hold. */
export function expectBalanced(stats: AccountingStats): void {
  expect(isBalanced(stats), `unbalanced: ${JSON.stringify(stats)}`).toBe(true);
}
