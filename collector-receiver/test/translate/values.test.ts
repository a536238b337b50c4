import Long from 'long';
import { describe, expect, it } from 'vitest';
import type { IAnyValue } from '../../src/otlp/internal-types.js';
import { toHttpAttributes } from '../../src/translate/http-attributes.js';
import { canonicalAttributes, canonicalValue, toBigInt, toCount, toDouble, toHexId } from '../../src/translate/values.js';

describe('toBigInt', () => {
  it('reads Longs (signed and unsigned), decimal strings and integral numbers exactly', () => {
    expect(toBigInt(Long.fromString('1764201600123456789', true))).toBe(1764201600123456789n);
    expect(toBigInt(Long.fromString('18446744073709551615', true))).toBe(18446744073709551615n);
    expect(toBigInt(Long.fromNumber(-5))).toBe(-5n);
    expect(toBigInt('1764201600123456789')).toBe(1764201600123456789n);
    expect(toBigInt(42)).toBe(42n);
    expect(toBigInt(undefined)).toBe(0n);
  });

  it('returns undefined for what is not an integer', () => {
    expect(toBigInt(1.5)).toBeUndefined();
    expect(toBigInt('12abc')).toBeUndefined();
    expect(toBigInt('')).toBeUndefined();
    expect(toBigInt({} as never)).toBeUndefined();
  });
});

describe('toCount / toDouble', () => {
  it('accepts safe non-negative integers only', () => {
    expect(toCount(Long.fromNumber(7, true))).toBe(7);
    expect(toCount('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    expect(toCount('9007199254740992')).toBeUndefined();
    expect(toCount(-1)).toBeUndefined();
  });

  it("reads JSON's non-finite spellings", () => {
    expect(toDouble('NaN')).toBeNaN();
    expect(toDouble('Infinity')).toBe(Infinity);
    expect(toDouble('-Infinity')).toBe(-Infinity);
    expect(toDouble('1.5')).toBe(1.5);
    expect(toDouble('x')).toBeUndefined();
    expect(toDouble(null)).toBeUndefined();
  });
});

describe('toHexId', () => {
  it('hexes protobuf bytes and lower-cases JSON hex', () => {
    expect(toHexId(new Uint8Array([0xab, 0, 0, 0, 0, 0, 0, 1]), 8)).toEqual({ hex: 'ab00000000000001' });
    expect(toHexId('AB00000000000001', 8)).toEqual({ hex: 'ab00000000000001' });
    expect(toHexId(undefined, 8)).toEqual({ problem: 'should be 8 bytes, instead got 0' });
  });
});

describe('canonicalValue', () => {
  it('gives a protobuf Long and a JSON decimal string of the same int the same form, and other types another', () => {
    expect(canonicalValue({ intValue: Long.fromNumber(200) })).toBe(canonicalValue({ intValue: '200' }));
    expect(canonicalValue({ intValue: '200' })).not.toBe(canonicalValue({ stringValue: '200' }));
    expect(canonicalValue({ intValue: '200' })).not.toBe(canonicalValue({ doubleValue: 200.5 }));
    expect(canonicalValue({ bytesValue: new Uint8Array([1, 2]) })).toBe(canonicalValue({ bytesValue: 'AQI=' }));
  });

  it('sorts attributes by key and survives hostile nesting', () => {
    const a = canonicalAttributes([{ key: 'b', value: { boolValue: true } }, { key: 'a', value: { stringValue: 'x' } }]);
    const b = canonicalAttributes([{ key: 'a', value: { stringValue: 'x' } }, { key: 'b', value: { boolValue: true } }]);
    expect(a).toBe(b);
    let deep: IAnyValue = { stringValue: 'leaf' };
    for (let i = 0; i < 100_000; i++) deep = { arrayValue: { values: [deep] } };
    expect(canonicalValue(deep)).toContain('deep');
  });
});

describe('toHttpAttributes', () => {
  it('prefers stable semconv names over old ones and reads status codes of any numeric spelling', () => {
    expect(toHttpAttributes([
      { key: 'http.method', value: { stringValue: 'post' } },
      { key: 'http.request.method', value: { stringValue: 'get' } },
      { key: 'http.status_code', value: { intValue: Long.fromNumber(500) } },
      { key: 'http.response.status_code', value: { intValue: Long.fromNumber(201) } },
      { key: 'lattice.caller.service.name', value: { stringValue: 'web' } },
      { key: 'http.route', value: { stringValue: '/a/:b' } },
    ])).toEqual({ method: 'GET', statusCode: 201, route: '/a/:b', callerServiceName: 'web' });
    expect(toHttpAttributes(null)).toEqual({ method: '_OTHER', statusCode: 0, route: '(unmatched)', callerServiceName: null });
  });
});
