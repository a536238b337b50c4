/**
 * The live hub: collects the services named by writer commits and tells every subscriber about them
 * at most once per `minIntervalMs` (docs/api.md: "at most once a second").
 * - Leading edge: the first commit after a quiet second is announced at once (no added delay), so a
 *   request reaches the page within the SDK's export delay plus one round trip.
 * - Commits within the interval are merged into one `update` sent when the interval ends.
 * Timers are unref()ed and cleared by close() (house rule 5).
 */
export interface LiveUpdate {
  /** ISO 8601 time of the announcement. */
  at: string;
  /** Services with newly committed data since the previous update, sorted. */
  services: string[];
}

export type LiveSubscriber = (update: LiveUpdate) => void;

export interface LiveHubOptions {
  /** Smallest gap between two updates; default 1000 ms. */
  minIntervalMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

export interface LiveHub {
  /** Names services with newly committed data (the writer's onCommit listener). */
  notify(services: Iterable<string>): void;
  subscribe(subscriber: LiveSubscriber): () => void;
  subscriberCount(): number;
  /** Drops pending work and subscribers; later notify() calls do nothing. */
  close(): void;
}

export function createLiveHub(options: LiveHubOptions = {}): LiveHub {
  const minIntervalMs = options.minIntervalMs ?? 1000;
  const now = options.now ?? Date.now;
  const subscribers = new Set<LiveSubscriber>();
  const pending = new Set<string>();
  let lastSentAt = Number.NEGATIVE_INFINITY;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  function send(): void {
    timer = undefined;
    if (pending.size === 0 || closed) return;
    const sentAt = now();
    lastSentAt = sentAt;
    const update: LiveUpdate = { at: new Date(sentAt).toISOString(), services: [...pending].sort() };
    pending.clear();
    for (const subscriber of subscribers) {
      try { subscriber(update); } catch { /* one broken subscriber must not starve the others */ }
    }
  }

  return {
    notify(services) {
      if (closed) return;
      for (const name of services) pending.add(name);
      if (pending.size === 0 || timer !== undefined) return;
      const wait = lastSentAt + minIntervalMs - now();
      if (wait <= 0) {
        send();
      } else {
        timer = setTimeout(send, wait);
        timer.unref();
      }
    },
    subscribe(subscriber) {
      subscribers.add(subscriber);
      return () => { subscribers.delete(subscriber); };
    },
    subscriberCount() {
      return subscribers.size;
    },
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      pending.clear();
      subscribers.clear();
    },
  };
}
