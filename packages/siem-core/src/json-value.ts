import { AuditRecordError } from "./audit-record-error.js";

/** A value that survives `JSON.stringify` → `JSON.parse` unchanged. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };
/** A plain JSON object. */
export type JsonObject = { [key: string]: JsonValue };

const MAX_DEPTH = 64;

/**
 * Returns a deeply frozen copy of `value` if it is a plain JSON object, and
 * throws `AuditRecordError` naming the path of the first value that is not
 * JSON (BigInt, function, symbol, undefined, non-finite number, class
 * instance, cycle).
 */
export function freezeJsonObject(value: unknown, path: string): Readonly<JsonObject> {
  if (!isPlainObject(value)) throw new AuditRecordError(path, "must be a plain JSON object");
  return copyValue(value, path, new Set(), 0) as Readonly<JsonObject>;
}

function copyValue(value: unknown, path: string, seen: Set<object>, depth: number): JsonValue {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      if (!Number.isFinite(value))
        throw new AuditRecordError(path, `${value} is not representable in JSON`);
      return value;
    case "object": {
      if (value === null) return null;
      if (depth >= MAX_DEPTH)
        throw new AuditRecordError(path, `nests deeper than ${MAX_DEPTH} levels`);
      if (seen.has(value)) throw new AuditRecordError(path, "contains a cycle");
      seen.add(value);
      let copy: JsonValue;
      if (Array.isArray(value)) {
        copy = value.map((item, index) => copyValue(item, `${path}[${index}]`, seen, depth + 1));
      } else if (isPlainObject(value)) {
        const object: JsonObject = {};
        for (const key of Object.keys(value)) {
          setOwn(
            object,
            key,
            copyValue((value as Record<string, unknown>)[key], `${path}.${key}`, seen, depth + 1),
          );
        }
        copy = object;
      } else {
        throw new AuditRecordError(
          path,
          `must be JSON, got an instance of ${value.constructor?.name ?? "an unknown class"}`,
        );
      }
      seen.delete(value);
      return Object.freeze(copy) as JsonValue;
    }
    default:
      throw new AuditRecordError(path, `must be JSON, got a ${typeof value}`);
  }
}

/**
 * `object[key] = value` that also works for the key `"__proto__"`: JSON.parse
 * makes it an ordinary own property, but assignment would set the object's
 * prototype instead (losing the value, or grafting an object's keys in).
 */
export function setOwn(object: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(object, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    object[key] = value;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
