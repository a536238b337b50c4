import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { createBoundedFlush, installShutdownHooks } from '../src/shutdown';
import type { ShutdownProcess } from '../src/shutdown';

class FakeProcess extends EventEmitter implements ShutdownProcess {
  pid = 1234;
  kills: string[] = [];
  kill(_pid: number, signal: string): boolean {
    this.kills.push(signal);
    return true;
  }
}

const tick = () => new Promise((r) => setImmediate(r));

describe('createBoundedFlush', () => {
  it('runs the flush once and shares the result', async () => {
    const flush = vi.fn(() => Promise.resolve());
    const once = createBoundedFlush(flush, 1000, () => {});
    await Promise.all([once(), once()]);
    await once();
    expect(flush).toHaveBeenCalledTimes(1);
  });

  it('resolves after the timeout when the flush hangs', async () => {
    const started = Date.now();
    await createBoundedFlush(() => new Promise<void>(() => {}), 50, () => {})();
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('reports a failing or throwing flush instead of rejecting', async () => {
    const errors: unknown[] = [];
    await createBoundedFlush(() => Promise.reject(new Error('down')), 1000, (e) => errors.push(e))();
    await createBoundedFlush(() => {
      throw new Error('sync');
    }, 1000, (e) => errors.push(e))();
    expect(errors.map((e) => (e as Error).message)).toEqual(['down', 'sync']);
  });
});

describe('installShutdownHooks', () => {
  it('re-raises the signal after flushing when the app has no listener of its own', async () => {
    const proc = new FakeProcess();
    const flush = vi.fn(() => Promise.resolve());
    installShutdownHooks(createBoundedFlush(flush, 1000, () => {}), proc);
    proc.emit('SIGTERM', 'SIGTERM');
    await tick();
    expect(flush).toHaveBeenCalledTimes(1);
    expect(proc.kills).toEqual(['SIGTERM']);
    expect(proc.listenerCount('SIGTERM')).toBe(0); // the re-raised signal gets the default action
    expect(proc.listenerCount('SIGINT')).toBe(1);
  });

  it('flushes but does not exit when the app listens for the signal itself', async () => {
    const proc = new FakeProcess();
    const flush = vi.fn(() => Promise.resolve());
    installShutdownHooks(createBoundedFlush(flush, 1000, () => {}), proc);
    proc.on('SIGINT', () => {});
    proc.emit('SIGINT', 'SIGINT');
    await tick();
    expect(flush).toHaveBeenCalledTimes(1);
    expect(proc.kills).toEqual([]);
  });

  it('flushes once on beforeExit, however often it fires', async () => {
    const proc = new FakeProcess();
    const flush = vi.fn(() => Promise.resolve());
    installShutdownHooks(createBoundedFlush(flush, 1000, () => {}), proc);
    proc.emit('beforeExit', 0);
    proc.emit('beforeExit', 0);
    await tick();
    expect(flush).toHaveBeenCalledTimes(1);
  });

  it('removes every listener when uninstalled', () => {
    const proc = new FakeProcess();
    const uninstall = installShutdownHooks(createBoundedFlush(() => Promise.resolve(), 1000, () => {}), proc);
    uninstall();
    expect(proc.eventNames()).toEqual([]);
  });
});
