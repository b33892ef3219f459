import { AuditRecord } from "@a1/siem-core";

/** What a scenario's `run` gets. */
export interface ScenarioContext {
  /** The records to export, made before measuring starts (their NDJSON is not cached yet). */
  readonly records: readonly AuditRecord[];
  /** A fresh temporary directory for this scenario. */
  readonly tmpDir: string;
  /** Times one synchronous call (one `export()`), for the p50/p99 of the call. */
  timeCall(call: () => void): void;
}

/** What a scenario reports besides what the harness measures itself. */
export interface ScenarioOutcome {
  /** Records the destination received (counted at the destination, e.g. the test server). */
  readonly delivered?: number;
  /** Records that never arrived. */
  readonly lost?: number;
  readonly requests?: number;
  /** Bytes on the wire (request bodies as sent). */
  readonly bytes?: number;
  readonly notes?: string;
}

export interface Scenario {
  /** Scenarios of one group run side by side; ratios are to the group's floor. */
  readonly group: string;
  readonly name: string;
  /** The group's floor: the cheapest possible way to do the same job. */
  readonly floor?: boolean;
  /**
   * Runs in a process of its own (peak RSS is per process). Anything the
   * scenario needs besides the client (a test server) must run in another
   * process so that its CPU is not counted.
   */
  run(context: ScenarioContext): Promise<ScenarioOutcome>;
}

/** One scenario's figures. */
export interface Measurement extends ScenarioOutcome {
  readonly group: string;
  readonly name: string;
  readonly floor: boolean;
  readonly records: number;
  readonly wallMs: number;
  /** User + system CPU of the client process during `run`. */
  readonly cpuMs: number;
  readonly peakRssMb: number;
  /** Percentiles of the timed synchronous calls, in microseconds. */
  readonly callP50Us?: number;
  readonly callP99Us?: number;
}

/**
 * `length` hex digits from the PRNG, as one flat string: building it a digit
 * at a time would make a rope of 64 string objects, which costs memory and
 * makes the first serialisation of every record pay for flattening it.
 */
function hex(random: () => number, length: number): string {
  const bytes = Buffer.allocUnsafe(Math.ceil(length / 2));
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes.toString("hex").slice(0, length);
}

/** A small deterministic PRNG (mulberry32) so that every run exports the same records. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Realistic A1 authorization records: UUIDv7 ids, 64-hex keys, depth 1-5, ~90 % AUTHORIZED. */
export function makeRecords(count: number, seed = 1): AuditRecord[] {
  const random = seededRandom(seed);
  const start = Math.floor(Date.now() / 1000) - count;
  const records: AuditRecord[] = [];
  for (let i = 0; i < count; i++) {
    const timestampUnix = start + i;
    const ms = timestampUnix * 1000;
    const eventId = `${ms
      .toString(16)
      .padStart(12, "0")
      .replace(
        /^(.{8})(.{4})$/,
        "$1-$2",
      )}-7${hex(random, 3)}-${"89ab"[Math.floor(random() * 4)]}${hex(random, 3)}-${hex(random, 12)}`;
    const roll = random();
    const outcome = roll < 0.9 ? "AUTHORIZED" : roll < 0.97 ? "DENIED" : "POLICY_VIOLATION";
    records.push(
      new AuditRecord({
        eventId,
        timestampUnix,
        outcome,
        principalPkHex: hex(random, 64),
        executorPkHex: hex(random, 64),
        chainDepth: 1 + Math.floor(random() * 5),
        intentHex: hex(random, 64),
        passportNamespace: "trading-agents",
        chainFingerprint: hex(random, 64),
        requestId: flat(`req-${i}`),
        ...(outcome === "AUTHORIZED"
          ? {}
          : { errorMessage: "capability not granted by the chain", policyName: "max-notional" }),
        extra: { trace_id: hex(random, 32), span_id: hex(random, 16) },
      }),
    );
  }
  return records;
}

/** A flat copy of a string built by concatenation (V8 keeps those as ropes until first read). */
function flat(text: string): string {
  return Buffer.from(text, "utf8").toString("utf8");
}

/** The p-th percentile (0-100) of sorted samples. */
export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}
