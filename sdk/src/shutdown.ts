/**
 * Flush on the way out, bounded in time, without changing how the app exits.
 *
 * - SIGTERM / SIGINT: start flushing. If the app has its own listener for the signal, that
 *   listener decides what happens (we do not exit for it). If not, Node would have died from the
 *   signal: once the flush settles or `timeoutMs` passes, we remove our listener and re-raise
 *   the signal, so the exit status is the one the app would have had without the SDK.
 * - beforeExit (the loop ran dry): flush once; the loop drains and the app exits as it would.
 * - `process.exit()` cannot be waited for: data since the last export may be lost.
 */

export type Flush = () => Promise<void>;

/** The parts of `process` we touch, injectable for tests. */
export interface ShutdownProcess {
  pid: number;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  removeListener(event: string, listener: (...args: unknown[]) => void): unknown;
  listenerCount(event: string): number;
  kill(pid: number, signal: string): unknown;
}

export const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Runs `flush` at most once and resolves when it settles or after `timeoutMs`, whichever comes
 * first. Never rejects: failures go to `onError`.
 */
export function createBoundedFlush(flush: Flush, timeoutMs: number, onError: (err: unknown) => void): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => {
    if (running !== undefined) return running;
    running = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      let flushing: Promise<void>;
      try {
        flushing = flush();
      } catch (err) {
        flushing = Promise.reject(err);
      }
      flushing.then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (err: unknown) => {
          clearTimeout(timer);
          onError(err);
          resolve();
        },
      );
    });
    return running;
  };
}

/** Installs the exit hooks; returns a function that removes them. */
export function installShutdownHooks(flushOnce: () => Promise<void>, proc: ShutdownProcess = process as unknown as ShutdownProcess): () => void {
  const onSignal = (signal: unknown): void => {
    const name = String(signal);
    // Our own listener is one of them; any other belongs to the app.
    const appHandlesSignal = proc.listenerCount(name) > 1;
    if (appHandlesSignal) {
      void flushOnce();
      return;
    }
    proc.removeListener(name, onSignal);
    void flushOnce().then(() => {
      proc.kill(proc.pid, name);
    });
  };
  const onBeforeExit = (): void => {
    void flushOnce();
  };

  for (const signal of SHUTDOWN_SIGNALS) proc.on(signal, onSignal);
  proc.on('beforeExit', onBeforeExit);

  return () => {
    for (const signal of SHUTDOWN_SIGNALS) proc.removeListener(signal, onSignal);
    proc.removeListener('beforeExit', onBeforeExit);
  };
}
