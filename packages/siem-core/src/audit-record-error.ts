const MARKER = Symbol.for("@a1/siem-core/AuditRecordError");

/**
 * Thrown when an audit record cannot be built or parsed: a required field is
 * missing, a field has the wrong type, a timestamp is out of range, or `extra`
 * is not a plain JSON object or tries to override a core wire key.
 *
 * `field` names the offending field by its wire (snake_case) name, or
 * `extra.<key>` for a key inside `extra`.
 */
export class AuditRecordError extends TypeError {
  /** The wire name of the field that is wrong, e.g. `timestamp_unix` or `extra.outcome`. */
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = "AuditRecordError";
    this.field = field;
    Object.defineProperty(this, MARKER, { value: true });
  }

  /** True for an `AuditRecordError`, also one made by another copy of this package. */
  static isInstance(value: unknown): value is AuditRecordError {
    return typeof value === "object" && value !== null && MARKER in value;
  }
}
