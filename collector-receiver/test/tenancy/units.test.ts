/**
 * The pure parts of tenancy: the per-key token bucket, which hosts count as loopback, service keys
 * and the project a translated batch is put in, and what a key looks like in a message.
 */
import { describe, expect, it } from 'vitest';
import { createRateLimiter } from '../../src/tenancy/rate-limiter.js';
import { isLoopbackHost } from '../../src/tenancy/loopback.js';
import { assignProject, fromServiceKey, namesInProject, toServiceKey } from '../../src/tenancy/service-key.js';
import { createKey, describeKey, hashKey, kindOfKey } from '../../src/tenancy/keys.js';
import type { IngestBatch } from '../../src/translate/rows.js';
import { durationPoint, requestRow } from '../helpers/fixtures.js';

describe('rate limiter', () => {
  it('lets a burst of 2× the rate through, then answers the seconds until enough tokens refill', () => {
    let now = 0;
    const limiter = createRateLimiter({ rowsPerSecond: 100, now: () => now });
    expect(limiter.take('k', 150)).toBe(0);
    expect(limiter.take('k', 50)).toBe(0); // 200 = the bucket
    expect(limiter.take('k', 1)).toBe(1);
    expect(limiter.take('k', 250)).toBe(2); // more than the bucket: waits until it is full (200 / 100 per s)
    now = 500; // +50 tokens
    expect(limiter.take('k', 120)).toBe(1); // needs 70 more: 0.7 s → 1
    expect(limiter.take('k', 50)).toBe(0);
    expect(limiter.take('other', 200)).toBe(0); // one bucket per key
  });

  it('lets an export larger than the bucket through when the bucket is full, leaving it in debt', () => {
    let now = 0;
    const limiter = createRateLimiter({ rowsPerSecond: 10, now: () => now });
    expect(limiter.take('k', 50)).toBe(0);
    expect(limiter.take('k', 1)).toBe(4); // 20 - 50 = -30 tokens: 3.1 s to have 1
    now = 5000;
    expect(limiter.take('k', 1)).toBe(0);
  });

  it('is a no-op at 0 rows per second', () => {
    const limiter = createRateLimiter({ rowsPerSecond: 0 });
    expect(limiter.take('k', 1e9)).toBe(0);
  });
});

describe('isLoopbackHost', () => {
  it.each([['127.0.0.1', true], ['127.1.2.3', true], ['::1', true], ['[::1]', true], ['localhost', true], ['LOCALHOST', true],
    ['::ffff:127.0.0.1', true], ['0.0.0.0', false], ['::', false], ['10.0.0.5', false], ['192.168.1.2', false],
    ['example.com', false], ['128.0.0.1', false], ['', false]] as const)('%s → %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});

describe('service keys', () => {
  it('keep default-project names as they are and round-trip other projects', () => {
    expect(toServiceKey('1', 'web')).toBe('web');
    expect(fromServiceKey('web')).toEqual({ projectId: '1', name: 'web' });
    const key = toServiceKey('42', 'web:8080/x');
    expect(key).not.toBe('web:8080/x');
    expect(fromServiceKey(key)).toEqual({ projectId: '42', name: 'web:8080/x' });
    expect(namesInProject(['a', toServiceKey('42', 'b'), toServiceKey('7', 'c')], '42')).toEqual(['b']);
    expect(namesInProject(['a', toServiceKey('42', 'b')], '1')).toEqual(['a']);
  });

  it('put a batch in its project: rows carry service keys, stream keys the project', () => {
    const batch: IngestBatch = { requests: [requestRow({ serviceName: 'web' })], durationPoints: [durationPoint([1], { serviceName: 'web', streamKey: 's1' })], spans: [] };
    assignProject(batch, '5');
    expect(batch.projectId).toBe('5');
    expect(fromServiceKey(batch.requests[0]!.serviceName)).toEqual({ projectId: '5', name: 'web' });
    expect(batch.durationPoints[0]!.streamKey).toBe('p5:s1');
    const open: IngestBatch = { requests: [requestRow({ serviceName: 'web' })], durationPoints: [durationPoint([1], { serviceName: 'web', streamKey: 's1' })], spans: [] };
    assignProject(open, '1');
    expect(open.requests[0]!.serviceName).toBe('web');
    expect(open.durationPoints[0]!.streamKey).toBe('s1');
  });
});

describe('keys', () => {
  it('are 32 random bytes with a kind prefix; only the hash and a 16-character prefix are kept', () => {
    const a = createKey('ingest');
    const b = createKey('read');
    expect(a.key).toMatch(/^lat_ingest_[A-Za-z0-9_-]{43}$/);
    expect(b.key).toMatch(/^lat_read_[A-Za-z0-9_-]{43}$/);
    expect(a.prefix).toBe(a.key.slice(0, 16));
    expect(a.hash.equals(hashKey(a.key))).toBe(true);
    expect(a.hash).toHaveLength(32);
    expect(kindOfKey(a.key)).toBe('ingest');
    expect(kindOfKey('Bearer x')).toBeUndefined();
    expect(describeKey(a.key)).toBe(`${a.prefix}…`);
    expect(describeKey('some-other-secret-value')).toBe('(not a Lattice key, 23 characters)');
  });
});
