import { expect } from "vitest";
import { AuditRecord, type AuditRecordFields } from "../../src/index.js";

let counter = 0;

/** A valid record; each call gets a fresh event id unless one is given. */
export function makeRecord(overrides: Partial<AuditRecordFields> = {}): AuditRecord {
  counter++;
  return new AuditRecord({
    eventId: `evt-${counter}`,
    timestampUnix: 1_733_300_000 + counter,
    outcome: "AUTHORIZED",
    principalPkHex: "a1".repeat(32),
    executorPkHex: "b2".repeat(32),
    chainDepth: 1,
    intentHex: "c3".repeat(32),
    ...overrides,
  });
}

/** `n` valid records with distinct event ids. */
export function makeRecords(n: number, overrides: Partial<AuditRecordFields> = {}): AuditRecord[] {
  return Array.from({ length: n }, () => makeRecord(overrides));
}

/** True for the keys JavaScript orders first in an object: canonical array indices. */
export function isArrayIndex(key: string): boolean {
  const n = Number(key);
  return Number.isInteger(n) && n >= 0 && n < 2 ** 32 - 1 && String(n) === key;
}

/** The order JavaScript gives `keys` when they are assigned in this order to a fresh object. */
export function jsKeyOrder(keys: readonly string[]): string[] {
  const indices = keys.filter(isArrayIndex).sort((a, b) => Number(a) - Number(b));
  return [...indices, ...keys.filter((key) => !isArrayIndex(key))];
}

/**
 * Asserts two records are equal field for field, `extra` included, with the
 * same key order at every depth. (Not toStrictEqual: an extra key named
 * "constructor" makes it compare the values of that key as types.)
 */
export function expectSameRecord(actual: AuditRecord, expected: AuditRecord): void {
  expect(AuditRecord.isInstance(actual)).toBe(true);
  expect(actual).toEqual(expected);
  expect(Object.keys(actual)).toEqual(Object.keys(expected));
  expect(JSON.stringify(actual.extra)).toBe(JSON.stringify(expected.extra));
  expect(JSON.stringify(actual.toDict())).toBe(JSON.stringify(expected.toDict()));
}
