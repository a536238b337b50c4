/**
 * A minimal protobuf wire writer for hand-made hostile bodies: bytes the official serializers
 * would never produce (invalid UTF-8 in strings, nesting far past protobufjs' recursion limit,
 * wrong wire types on known field numbers). Field numbers are those of opentelemetry-proto.
 */

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

export function varint(value: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    bytes.push(byte);
  } while (v !== 0n);
  return Buffer.from(bytes);
}

export function tag(field: number, wireType: number): Buffer {
  return varint((field << 3) | wireType);
}

/** A length-delimited field: a string (UTF-8), raw bytes (as given, valid UTF-8 or not) or a message. */
export function len(field: number, payload: Buffer | string): Buffer {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([tag(field, WIRE_LEN), varint(bytes.length), bytes]);
}

export function fixed64(field: number, value: bigint): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(BigInt.asUintN(64, value));
  return Buffer.concat([tag(field, WIRE_FIXED64), bytes]);
}

export function double(field: number, value: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeDoubleLE(value);
  return Buffer.concat([tag(field, WIRE_FIXED64), bytes]);
}

export function uint(field: number, value: number | bigint): Buffer {
  return Buffer.concat([tag(field, WIRE_VARINT), varint(value)]);
}

export const msg = (...parts: Buffer[]): Buffer => Buffer.concat(parts);

/** KeyValue { key = 1; value = 2 (AnyValue { string_value = 1 }) }, key/value as raw bytes allowed. */
export function stringAttribute(key: Buffer | string, value: Buffer | string): Buffer {
  return msg(len(1, key), len(2, len(1, value)));
}

export function intAttribute(key: string, value: number | bigint): Buffer {
  return msg(len(1, key), len(2, uint(3, value)));
}

export interface WireSpan {
  traceId?: Buffer;
  spanId?: Buffer;
  name?: Buffer | string;
  /** 2 = SERVER */
  kind?: number;
  startNanos: bigint;
  endNanos: bigint;
  /** encoded KeyValue messages */
  attributes?: Buffer[];
}

/** Span (fields 1, 2, 5, 6, 7, 8, 9). */
export function span(s: WireSpan): Buffer {
  return msg(
    len(1, s.traceId ?? Buffer.from('5b8efff798038103d269b633813fc60c', 'hex')),
    len(2, s.spanId ?? Buffer.from('eee19b7ec3c1b174', 'hex')),
    len(5, s.name ?? 'GET'),
    uint(6, s.kind ?? 2),
    fixed64(7, s.startNanos),
    fixed64(8, s.endNanos),
    ...(s.attributes ?? []).map((kv) => len(9, kv)),
  );
}

/** ExportTraceServiceRequest with one resource (attributes as KeyValue messages) and one scope. */
export function traceRequest(resourceAttributes: Buffer[], spans: Buffer[]): Buffer {
  const resource = msg(...resourceAttributes.map((kv) => len(1, kv)));
  const scopeSpans = msg(len(1, len(1, 'hostile')), ...spans.map((s) => len(2, s)));
  return len(1, msg(len(1, resource), len(2, scopeSpans)));
}

/** ExportMetricsServiceRequest with one delta `http.server.duration` histogram of the given points. */
export function metricsRequest(resourceAttributes: Buffer[], points: Buffer[], metricName: Buffer | string = 'http.server.duration'): Buffer {
  const resource = msg(...resourceAttributes.map((kv) => len(1, kv)));
  const histogram = msg(...points.map((p) => len(1, p)), uint(2, 1));
  const metric = msg(len(1, metricName), len(3, 'ms'), len(9, histogram));
  const scopeMetrics = msg(len(1, len(1, 'hostile')), len(2, metric));
  return len(1, msg(len(1, resource), len(2, scopeMetrics)));
}

export interface WirePoint {
  startNanos: bigint;
  timeNanos: bigint;
  count: bigint;
  sum?: number;
  bucketCounts?: readonly bigint[];
  bounds?: readonly number[];
  min?: number;
  max?: number;
  attributes?: Buffer[];
}

/** HistogramDataPoint (fields 2, 3, 4, 5, 6 packed, 7 packed, 9, 11, 12). */
export function histogramPoint(p: WirePoint): Buffer {
  const counts = p.bucketCounts ?? [];
  const bounds = p.bounds ?? [];
  const packedCounts = Buffer.alloc(counts.length * 8);
  counts.forEach((c, i) => packedCounts.writeBigUInt64LE(BigInt.asUintN(64, c), i * 8));
  const packedBounds = Buffer.alloc(bounds.length * 8);
  bounds.forEach((b, i) => packedBounds.writeDoubleLE(b, i * 8));
  return msg(
    fixed64(2, p.startNanos),
    fixed64(3, p.timeNanos),
    fixed64(4, p.count),
    ...(p.sum === undefined ? [] : [double(5, p.sum)]),
    ...(counts.length > 0 ? [len(6, packedCounts)] : []),
    ...(bounds.length > 0 ? [len(7, packedBounds)] : []),
    ...(p.attributes ?? []).map((kv) => len(9, kv)),
    ...(p.min === undefined ? [] : [double(11, p.min)]),
    ...(p.max === undefined ? [] : [double(12, p.max)]),
  );
}

/**
 * A KeyValue whose value is AnyValue { kvlist_value = 6 { values = 1 { key = 1, value = 2 … } } }
 * nested `depth` times, ending in a string. Built front to back from precomputed lengths, so
 * depth 10^5 costs O(depth), not O(depth^2) copying.
 *   level: KeyValue = [0x0a 0x01 'k'] [0x12 len(AnyValue)] AnyValue
 *          AnyValue = [0x32 len(KeyValueList)] KeyValueList
 *          KeyValueList = [0x0a len(KeyValue)] KeyValue
 */
export function deepKvlistAttribute(depth: number, kind: 'kvlist' | 'array' = 'kvlist'): Buffer {
  const innermost = stringAttribute('k', 'leaf'); // a KeyValue
  // Sizes from the inside out: kv[i] is the KeyValue at level i (0 = outermost).
  const kvSize = new Array<number>(depth + 1);
  kvSize[depth] = innermost.length;
  const headers: Buffer[] = new Array<Buffer>(depth);
  for (let level = depth - 1; level >= 0; level--) {
    const innerKv = kvSize[level + 1]!;
    let header: Buffer;
    if (kind === 'kvlist') {
      const list = 1 + varint(innerKv).length + innerKv; // KeyValueList { values = 1 }
      const any = 1 + varint(list).length + list; // AnyValue { kvlist_value = 6 }
      header = Buffer.concat([Buffer.from([0x0a, 0x01, 0x6b, 0x12]), varint(any), Buffer.from([0x32]), varint(list), Buffer.from([0x0a]), varint(innerKv)]);
    } else {
      // ArrayValue { values = 1 (AnyValue { kvlist_value = 6 { values = 1 KeyValue } }) }
      const list = 1 + varint(innerKv).length + innerKv;
      const innerAny = 1 + varint(list).length + list;
      const array = 1 + varint(innerAny).length + innerAny;
      const any = 1 + varint(array).length + array; // AnyValue { array_value = 5 }
      header = Buffer.concat([
        Buffer.from([0x0a, 0x01, 0x6b, 0x12]), varint(any), Buffer.from([0x2a]), varint(array),
        Buffer.from([0x0a]), varint(innerAny), Buffer.from([0x32]), varint(list), Buffer.from([0x0a]), varint(innerKv),
      ]);
    }
    headers[level] = header;
    kvSize[level] = header.length + innerKv;
  }
  return Buffer.concat([...headers, innermost]);
}
