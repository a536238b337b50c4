/**
 * Normalisers from the two OTLP encodings' value spellings (see otlp/internal-types.ts) to plain
 * values. Each returns `undefined` when the value has the wrong shape, so callers can name the
 * field in a rejection message. Pure.
 */
import type { DoubleValue, IAnyValue, IdValue, Int64Value, IKeyValue, LongLike } from '../otlp/internal-types.js';

const TWO_POW_32 = 4294967296n;
/** Attribute values nested deeper than this hash as 'deep' (real attributes nest one or two levels). */
const MAX_VALUE_DEPTH = 16;
const UINT64_MAX = 18446744073709551615n;
const DECIMAL = /^-?\d{1,20}$/;

function isLongLike(value: unknown): value is LongLike {
  return typeof value === 'object' && value !== null
    && typeof (value as LongLike).low === 'number' && typeof (value as LongLike).high === 'number';
}

/**
 * A 64-bit integer as a bigint; absent → 0n (proto3 default); wrong shape → undefined.
 * Long from protobuf, decimal string or integral number from JSON.
 */
export function toBigInt(value: Int64Value): bigint | undefined {
  if (value === undefined || value === null) return 0n;
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : undefined;
  if (typeof value === 'string') return DECIMAL.test(value) ? BigInt(value) : undefined;
  if (isLongLike(value)) {
    const unsigned = (BigInt(value.high >>> 0) * TWO_POW_32) + BigInt(value.low >>> 0);
    return value.unsigned === false && value.high < 0 ? unsigned - (UINT64_MAX + 1n) : unsigned;
  }
  return undefined;
}

/** A non-negative count that fits a JS number exactly; absent → 0; otherwise undefined. */
export function toCount(value: Int64Value): number | undefined {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (isLongLike(value) && value.high === 0) return value.low >>> 0; // the common small case
  const big = toBigInt(value);
  if (big === undefined || big < 0n || big > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return Number(big);
}

/** A double; JSON's 'NaN' / 'Infinity' / '-Infinity' spellings become numbers; absent → undefined. */
export function toDouble(value: DoubleValue): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    if (value === 'NaN') return NaN;
    if (value === 'Infinity') return Infinity;
    if (value === '-Infinity') return -Infinity;
    const parsed = Number(value);
    return value.trim() !== '' && !Number.isNaN(parsed) ? parsed : undefined;
  }
  return undefined;
}

/** Describes a value for messages ("instead got '…'"), bounded. */
export function describe(value: unknown): string {
  let text: string;
  if (value instanceof Uint8Array) text = `${value.length} bytes`;
  else if (isLongLike(value)) text = String(toBigInt(value as LongLike));
  else if (typeof value === 'string') text = value;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      // Nesting too deep for JSON.stringify (hostile JSON 10^5 deep) would overflow String() too.
      text = Array.isArray(value) ? 'a deeply nested array' : typeof value === 'object' ? 'a deeply nested object' : typeof value;
    }
  }
  return text.length > 64 ? `${text.slice(0, 61)}...` : text;
}

const HEX_ID = /^[0-9a-fA-F]*$/;

/**
 * A trace/span id as lower-case hex, or a message fragment saying what was wrong.
 * Protobuf: exactly `bytes` bytes, not all zero. JSON: `2 * bytes` hex characters.
 */
export function toHexId(value: IdValue, bytes: number): { hex: string } | { problem: string } {
  let hex: string;
  if (value instanceof Uint8Array) {
    if (value.length !== bytes) return { problem: `should be ${bytes} bytes, instead got ${value.length}` };
    hex = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  } else if (typeof value === 'string') {
    if (value.length !== bytes * 2 || !HEX_ID.test(value)) {
      return { problem: `should be ${bytes * 2} hex characters, instead got '${describe(value)}'` };
    }
    hex = value.toLowerCase();
  } else {
    return { problem: `should be ${bytes} bytes, instead got ${value === undefined || value === null ? 0 : `'${describe(value)}'`}` };
  }
  // An all-zero id is the OTLP "invalid id".
  for (let i = 0; i < hex.length; i++) if (hex.charCodeAt(i) !== 48) return { hex };
  return { problem: `should be a non-zero id, instead got '${hex}'` };
}

/** An optional parent span id: absent/empty → null, else like toHexId. */
export function toOptionalHexId(value: IdValue, bytes: number): { hex: string | null } | { problem: string } {
  if (value === undefined || value === null || value.length === 0) return { hex: null };
  return toHexId(value, bytes);
}

/**
 * A canonical, type-tagged string for an attribute value, so `1` (int), `"1"` (string) and `1.0`
 * (double) differ while a protobuf Long and a JSON decimal string of the same int agree.
 */
export function canonicalValue(value: IAnyValue | null | undefined, depth = 0): string {
  if (value === null || value === undefined || typeof value !== 'object') return 'n';
  // Nesting deeper than any real attribute would exhaust the stack on hostile JSON.
  if (depth > MAX_VALUE_DEPTH) return 'deep';
  if (typeof value.stringValue === 'string') return `s${JSON.stringify(value.stringValue)}`;
  if (typeof value.boolValue === 'boolean') return value.boolValue ? 'bt' : 'bf';
  if (value.intValue !== undefined && value.intValue !== null) return `i${String(toBigInt(value.intValue))}`;
  if (value.doubleValue !== undefined && value.doubleValue !== null) return `d${String(toDouble(value.doubleValue))}`;
  if (value.arrayValue) {
    const values = Array.isArray(value.arrayValue.values) ? value.arrayValue.values : [];
    return `a[${values.map((item) => canonicalValue(item, depth + 1)).join(',')}]`;
  }
  if (value.kvlistValue) {
    const values = Array.isArray(value.kvlistValue.values) ? value.kvlistValue.values : [];
    return `m{${canonicalAttributes(values, depth + 1)}}`;
  }
  if (value.bytesValue !== undefined && value.bytesValue !== null) {
    const bytes = value.bytesValue;
    if (typeof bytes === 'string') return `x${Buffer.from(bytes, 'base64').toString('hex')}`;
    if (bytes instanceof Uint8Array) return `x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
    return `x?${describe(bytes)}`; // JSON that is neither base64 nor bytes (a number, an object)
  }
  return 'n';
}

/** Attributes as a canonical string, sorted by key (duplicate keys keep all values, in order). */
export function canonicalAttributes(attributes: IKeyValue[] | null | undefined, depth = 0): string {
  if (!Array.isArray(attributes) || attributes.length === 0) return '';
  const parts: string[] = [];
  for (const kv of attributes) {
    if (kv === null || typeof kv !== 'object') continue;
    // A non-string key from hostile JSON may be an object whose toString is not callable.
    const key = typeof kv.key === 'string' ? kv.key : describe(kv.key ?? '');
    parts.push(`${JSON.stringify(key)}=${canonicalValue(kv.value, depth)}`);
  }
  return parts.sort().join(',');
}

/** A string attribute's value, or undefined. */
export function stringAttribute(attributes: IKeyValue[] | null | undefined, key: string): string | undefined {
  if (!Array.isArray(attributes)) return undefined;
  for (const kv of attributes) {
    if (kv?.key === key && typeof kv.value?.stringValue === 'string') return kv.value.stringValue;
  }
  return undefined;
}
