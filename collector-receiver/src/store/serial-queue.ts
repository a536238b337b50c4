/**
 * A FIFO mutex: `run(fn)` starts fn once every earlier fn has settled. PGlite is a single
 * connection, so its Db wraps every query and every whole transaction in one queue; a query from
 * another caller can therefore never land between a transaction's BEGIN and COMMIT.
 */
export interface SerialQueue {
  run<T>(fn: () => Promise<T>): Promise<T>;
}

export function createSerialQueue(): SerialQueue {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run<T>(fn: () => Promise<T>): Promise<T> {
      const result = tail.then(fn, fn);
      // The queue advances whether fn resolved or rejected; the caller still sees the rejection.
      tail = result.then(noop, noop);
      return result;
    },
  };
}

function noop(): void {}
