import { AuditRecordError } from "./audit-record-error.js";
import { freezeJsonObject, type JsonObject, setOwn } from "./json-value.js";

/** A JSON object: the type of `extra` and of the wire form. */
export type { JsonObject, JsonValue } from "./json-value.js";

/** The outcomes A1 produces today; any other string is accepted and passed through. */
export type AuditOutcome = "AUTHORIZED" | "DENIED" | "POLICY_VIOLATION" | "STORAGE_ERROR";

/** What `new AuditRecord()` takes: the record's fields by their camelCase names. */
export interface AuditRecordFields {
  /** Unique id of the authorization event (A1 uses UUIDv7). */
  eventId: string;
  /** When the authorization happened, in whole seconds since the Unix epoch (UTC). */
  timestampUnix: number;
  /** `AUTHORIZED`, `DENIED`, `POLICY_VIOLATION`, `STORAGE_ERROR`, or another outcome string. */
  outcome: AuditOutcome | (string & {});
  /** Hex public key of the principal at the root of the chain. */
  principalPkHex: string;
  /** Hex public key of the agent that executed the action. */
  executorPkHex: string;
  /** Number of delegations between principal and executor. */
  chainDepth: number;
  /** Hex digest of the intent that was authorized. */
  intentHex: string;
  /** Namespace of the passport the chain was issued under. `null` (Rust's `None`) means absent. */
  passportNamespace?: string | null;
  /** Fingerprint of the delegation chain. `null` means absent. */
  chainFingerprint?: string | null;
  /** Why the authorization was refused or failed. `null` means absent. */
  errorMessage?: string | null;
  /** Name of the policy that decided. `null` means absent. */
  policyName?: string | null;
  /** Hex mask of the capabilities exercised. `null` means absent. */
  capabilityMaskHex?: string | null;
  /** The caller's request id, for correlation. `null` means absent. */
  requestId?: string | null;
  /** The caller's User-Agent. `null` means absent. */
  userAgent?: string | null;
  /** The caller's IP address. `null` means absent. */
  sourceIp?: string | null;
  /** More top-level wire fields. They can never override a core key. */
  extra?: JsonObject | null;
}

/** The wire form: the snake_case object of the Python reference, `extra` spread at the end. */
export type AuditRecordDict = Record<string, unknown>;

/** Latest timestamp the ISO form can express: 9999-12-31T23:59:59Z. */
export const MAX_TIMESTAMP_UNIX = 253_402_300_799;

type StringField = "eventId" | "outcome" | "principalPkHex" | "executorPkHex" | "intentHex";
type OptionalField =
  | "passportNamespace"
  | "chainFingerprint"
  | "errorMessage"
  | "policyName"
  | "capabilityMaskHex"
  | "requestId"
  | "userAgent"
  | "sourceIp";

// Wire names in the reference's order. The order is the contract of toDict().
const REQUIRED_STRINGS: ReadonlyArray<readonly [StringField, string]> = [
  ["eventId", "event_id"],
  ["outcome", "outcome"],
  ["principalPkHex", "principal_pk_hex"],
  ["executorPkHex", "executor_pk_hex"],
  ["intentHex", "intent_hex"],
];
const OPTIONAL_STRINGS: ReadonlyArray<readonly [OptionalField, string]> = [
  ["passportNamespace", "passport_namespace"],
  ["chainFingerprint", "chain_fingerprint"],
  ["errorMessage", "error_message"],
  ["policyName", "policy_name"],
  ["capabilityMaskHex", "capability_mask_hex"],
  ["requestId", "request_id"],
  ["userAgent", "user_agent"],
  ["sourceIp", "source_ip"],
];

/** Every wire key the record owns; `extra` may use none of them. */
export const CORE_WIRE_KEYS: ReadonlySet<string> = new Set([
  "event_id",
  "timestamp_unix",
  "timestamp_iso",
  "outcome",
  "principal_pk_hex",
  "executor_pk_hex",
  "chain_depth",
  "intent_hex",
  ...OPTIONAL_STRINGS.map(([, wire]) => wire),
]);

type Writable = { -readonly [K in StringField | OptionalField]: string };

const BRAND = Symbol.for("@a1/siem-core/AuditRecord");
const hasOwn = Object.prototype.hasOwnProperty;

/**
 * One authorization audit record: immutable, validated, with a wire form that
 * matches the Python reference key for key.
 *
 * @example
 * const record = new AuditRecord({
 *   eventId: "0190b7e2-…", timestampUnix: 1733300000, outcome: "DENIED",
 *   principalPkHex: "ab…", executorPkHex: "cd…", chainDepth: 2, intentHex: "ef…",
 *   errorMessage: "capability not granted",
 * });
 * JSON.stringify(record); // the wire form
 */
export class AuditRecord {
  declare readonly eventId: string;
  readonly timestampUnix: number;
  declare readonly outcome: string;
  declare readonly principalPkHex: string;
  declare readonly executorPkHex: string;
  readonly chainDepth: number;
  declare readonly intentHex: string;
  declare readonly passportNamespace?: string;
  declare readonly chainFingerprint?: string;
  declare readonly errorMessage?: string;
  declare readonly policyName?: string;
  declare readonly capabilityMaskHex?: string;
  declare readonly requestId?: string;
  declare readonly userAgent?: string;
  declare readonly sourceIp?: string;
  /** Extra wire fields, deeply frozen. Empty when none were given. */
  readonly extra: Readonly<JsonObject>;

  // Private fields stay writable on a frozen object: the record caches its
  // serialised forms so that fan-out to several exporters serialises once.
  #ndjson: string | undefined;
  #iso: string | undefined;

  constructor(fields: AuditRecordFields) {
    if (typeof fields !== "object" || fields === null) {
      throw new AuditRecordError("record", "expected an object of record fields");
    }
    for (const [prop, wire] of REQUIRED_STRINGS) {
      const value = fields[prop];
      if (value === undefined || value === null) throw new AuditRecordError(wire, "is required");
      if (typeof value !== "string")
        throw new AuditRecordError(wire, `must be a string, got ${describe(value)}`);
      (this as Writable)[prop] = value;
    }
    this.timestampUnix = checkTimestamp(fields.timestampUnix);
    this.chainDepth = checkChainDepth(fields.chainDepth);
    for (const [prop, wire] of OPTIONAL_STRINGS) {
      const value = fields[prop];
      if (value === undefined || value === null) continue;
      if (typeof value !== "string")
        throw new AuditRecordError(wire, `must be a string, got ${describe(value)}`);
      (this as Writable)[prop] = value;
    }
    this.extra = checkExtra(fields.extra);
    Object.defineProperty(this, BRAND, { value: true });
    Object.freeze(this);
  }

  /** True for an `AuditRecord`, also one built by another copy of this package. */
  static isInstance(value: unknown): value is AuditRecord {
    return typeof value === "object" && value !== null && BRAND in value;
  }

  /**
   * Parses the wire form (also the Rust `AuditEvent`). Missing fields take the
   * reference's defaults (`""`, `0`, `"UNKNOWN"`), `null` optionals are absent,
   * `timestamp_iso` is ignored and unknown keys land in `extra`.
   *
   * @throws AuditRecordError naming the field when a value has the wrong type.
   */
  static fromDict(dict: AuditRecordDict): AuditRecord {
    if (typeof dict !== "object" || dict === null || Array.isArray(dict)) {
      throw new AuditRecordError("record", `expected a JSON object, got ${describe(dict)}`);
    }
    const fields: Record<string, unknown> = {};
    for (const [prop, wire] of REQUIRED_STRINGS) {
      fields[prop] = hasOwn.call(dict, wire) ? dict[wire] : prop === "outcome" ? "UNKNOWN" : "";
    }
    fields.timestampUnix = hasOwn.call(dict, "timestamp_unix") ? dict.timestamp_unix : 0;
    fields.chainDepth = hasOwn.call(dict, "chain_depth") ? dict.chain_depth : 0;
    for (const [prop, wire] of OPTIONAL_STRINGS) {
      if (hasOwn.call(dict, wire)) fields[prop] = dict[wire];
    }
    let extra: Record<string, unknown> | undefined;
    for (const key of Object.keys(dict)) {
      if (CORE_WIRE_KEYS.has(key)) continue;
      extra ??= {};
      setOwn(extra, key, dict[key]);
    }
    fields.extra = extra;
    return new AuditRecord(fields as unknown as AuditRecordFields);
  }

  /** `YYYY-MM-DDTHH:MM:SSZ` of `timestampUnix`, in UTC. */
  get timestampIso(): string {
    if (this.#iso === undefined) {
      this.#iso = `${new Date(this.timestampUnix * 1000).toISOString().slice(0, 19)}Z`;
    }
    return this.#iso;
  }

  /**
   * The wire object, keys in the reference's order: the required keys
   * (`timestamp_iso` after `timestamp_unix`), the optional keys that are set,
   * then `extra`'s keys. A fresh object on every call.
   */
  toDict(): AuditRecordDict {
    const dict: AuditRecordDict = {
      event_id: this.eventId,
      timestamp_unix: this.timestampUnix,
      timestamp_iso: this.timestampIso,
      outcome: this.outcome,
      principal_pk_hex: this.principalPkHex,
      executor_pk_hex: this.executorPkHex,
      chain_depth: this.chainDepth,
      intent_hex: this.intentHex,
    };
    for (const [prop, wire] of OPTIONAL_STRINGS) {
      const value = this[prop];
      if (value !== undefined) dict[wire] = value;
    }
    for (const key of Object.keys(this.extra)) setOwn(dict, key, this.extra[key]);
    return dict;
  }

  /** Same as `toDict()`, so that `JSON.stringify(record)` gives the wire form. */
  toJSON(): AuditRecordDict {
    return this.toDict();
  }

  /** The wire form as one JSON line: no trailing newline and no raw newline inside. */
  toNdjson(): string {
    if (this.#ndjson === undefined) this.#ndjson = JSON.stringify(this.toDict());
    return this.#ndjson;
  }
}

function checkTimestamp(value: unknown): number {
  if (value === undefined || value === null)
    throw new AuditRecordError("timestamp_unix", "is required");
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new AuditRecordError(
      "timestamp_unix",
      `must be a non-negative safe integer of seconds, got ${describe(value)}`,
    );
  }
  if (value > MAX_TIMESTAMP_UNIX) {
    throw new AuditRecordError(
      "timestamp_unix",
      `must be at most ${MAX_TIMESTAMP_UNIX} (9999-12-31T23:59:59Z), got ${value}`,
    );
  }
  return value;
}

function checkChainDepth(value: unknown): number {
  if (value === undefined || value === null)
    throw new AuditRecordError("chain_depth", "is required");
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new AuditRecordError(
      "chain_depth",
      `must be a non-negative integer, got ${describe(value)}`,
    );
  }
  return value;
}

const EMPTY_EXTRA: Readonly<JsonObject> = Object.freeze({});

function checkExtra(value: unknown): Readonly<JsonObject> {
  if (value === undefined || value === null) return EMPTY_EXTRA;
  const frozen = freezeJsonObject(value, "extra");
  for (const key of Object.keys(frozen)) {
    if (CORE_WIRE_KEYS.has(key)) {
      throw new AuditRecordError(
        `extra.${key}`,
        "collides with a core field; extra can never override it",
      );
    }
  }
  return frozen;
}

/** A short, secret-free description of a value's type for error messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "number")
    return Number.isFinite(value) ? `the number ${value}` : String(value);
  return typeof value === "object"
    ? `an object (${value.constructor?.name ?? "null prototype"})`
    : `a ${typeof value}`;
}
