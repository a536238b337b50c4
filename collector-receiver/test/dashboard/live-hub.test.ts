import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLiveHub, type LiveUpdate } from '../../src/live/live-hub.js';

describe('createLiveHub', () => {
  beforeEach(() => { vi.useFakeTimers({ now: 1_764_000_000_000 }); });
  afterEach(() => { vi.useRealTimers(); });

  it('announces the first commit after a quiet interval at once, naming its services sorted', () => {
    const hub = createLiveHub();
    const seen: LiveUpdate[] = [];
    hub.subscribe((u) => seen.push(u));
    hub.notify(new Set(['users', 'gateway']));
    expect(seen).toEqual([{ at: new Date(1_764_000_000_000).toISOString(), services: ['gateway', 'users'] }]);
    hub.close();
  });

  it('merges commits within the interval into one update sent when the interval ends', () => {
    const hub = createLiveHub({ minIntervalMs: 1000 });
    const seen: LiveUpdate[] = [];
    hub.subscribe((u) => seen.push(u));
    hub.notify(['a']);
    vi.advanceTimersByTime(100);
    hub.notify(['b']);
    vi.advanceTimersByTime(100);
    hub.notify(['c', 'b']);
    expect(seen).toHaveLength(1);
    vi.advanceTimersByTime(799);
    expect(seen).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(seen.map((u) => u.services)).toEqual([['a'], ['b', 'c']]);
    // Never two updates less than the interval apart.
    const gap = Date.parse(seen[1]!.at) - Date.parse(seen[0]!.at);
    expect(gap).toBe(1000);
    hub.close();
  });

  it('sends nothing for a commit with no services, and nothing after close()', () => {
    const hub = createLiveHub();
    const seen: LiveUpdate[] = [];
    hub.subscribe((u) => seen.push(u));
    hub.notify([]);
    hub.notify(['a']);
    hub.notify(['b']);
    hub.close();
    vi.advanceTimersByTime(5000);
    hub.notify(['c']);
    expect(seen.map((u) => u.services)).toEqual([['a']]);
    expect(hub.subscriberCount()).toBe(0);
  });

  it('keeps delivering to other subscribers when one throws, and stops after unsubscribe', () => {
    const hub = createLiveHub();
    const seen: string[][] = [];
    hub.subscribe(() => { throw new Error('broken client'); });
    const unsubscribe = hub.subscribe((u) => seen.push(u.services));
    hub.notify(['a']);
    unsubscribe();
    vi.advanceTimersByTime(2000);
    hub.notify(['b']);
    expect(seen).toEqual([['a']]);
    hub.close();
  });
});
