/**
 * Who a request's key belongs to, without a query per request:
 * - a key's lookup (by SHA-256) is cached for `ttlMs` (default 5 s), unknown keys too, so a
 *   revoked key stops working within that time (docs/tenancy.md);
 * - whether any key was ever created (open mode when none) is cached for the same time. Revoked
 *   keys count: revoking the last key (say, a leaked one) must not open the receiver to everyone;
 * - last_used_at is written at most once a minute per key, for every key used in that minute in
 *   one statement, from an unref()ed timer stopped by close().
 * When the database cannot be reached, the last known answers are kept (an export may then be
 * held by the writer as in any outage); a key never seen before is answered 503 + Retry-After.
 */
import type { Db } from '../store/db.js';
import { isUnavailableError } from '../store/db-errors.js';
import { errors } from '../errors.js';
import { countKeys, findKeyByHash, touchKeys, type StoredKey } from './key-queries.js';
import { hashKey } from './keys.js';

export interface KeyStoreOptions {
  /** How long a lookup is trusted (ms); default 5000. */
  ttlMs?: number;
  /** How often last_used_at is written (ms); default 60 000. */
  touchIntervalMs?: number;
  /** When the database was never reached: open mode (true) or refuse (false). */
  openWhenUnknown?: boolean;
  /** Clock (tests). */
  now?: () => number;
}

export interface KeyStore {
  /** True once any key was created (revoked ones count): every request must then carry an active one. */
  authRequired(): Promise<boolean>;
  /** The active key `key` is, or null (unknown or revoked). Notes the key as used. */
  lookup(key: string): Promise<StoredKey | null>;
  /** Active keys by kind and all keys, read now (startup check). */
  countKeys(): Promise<{ ingest: number; read: number; total: number }>;
  /** Forgets every cached answer (tests, after creating or revoking keys in-process). */
  invalidate(): void;
  /** Writes pending last_used_at and stops the timer. */
  close(): Promise<void>;
}

/** Cached lookups beyond this are dropped all at once (a flood of random keys). */
const MAX_CACHED_KEYS = 10_000;

export function createKeyStore(db: Db, options: KeyStoreOptions = {}): KeyStore {
  const ttlMs = options.ttlMs ?? 5000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { key: StoredKey | null; at: number }>();
  let required: { value: boolean; at: number } | undefined;
  let requiredLoad: Promise<boolean> | undefined;
  const used = new Set<string>();
  const lastTouched = new Map<string, number>();
  const touchIntervalMs = options.touchIntervalMs ?? 60_000;

  const timer = setInterval(() => { void flushTouches(); }, touchIntervalMs);
  timer.unref();

  async function flushTouches(): Promise<void> {
    if (used.size === 0) return;
    const ids = [...used];
    used.clear();
    try {
      await touchKeys(db, ids);
    } catch {
      // last_used_at is informational: an outage loses at most one minute of it.
    }
  }

  function noteUsed(id: string): void {
    const at = now();
    const last = lastTouched.get(id);
    if (last !== undefined && at - last < touchIntervalMs) return;
    lastTouched.set(id, at);
    used.add(id);
  }

  async function loadRequired(): Promise<boolean> {
    try {
      const counts = await countKeys(db);
      required = { value: counts.total > 0, at: now() };
      return required.value;
    } catch (err) {
      if (required !== undefined) return required.value;
      if (options.openWhenUnknown === true && isUnavailableError(err)) return false;
      throw toUnavailable(err, db);
    } finally {
      requiredLoad = undefined;
    }
  }

  return {
    authRequired() {
      if (required !== undefined && now() - required.at < ttlMs) return Promise.resolve(required.value);
      requiredLoad ??= loadRequired();
      return requiredLoad;
    },
    async lookup(key) {
      const hash = hashKey(key);
      const cacheKey = hash.toString('base64');
      const cached = cache.get(cacheKey);
      let found: StoredKey | null;
      if (cached !== undefined && now() - cached.at < ttlMs) {
        found = cached.key;
      } else {
        try {
          found = await findKeyByHash(db, hash);
        } catch (err) {
          if (cached !== undefined) found = cached.key;
          else throw toUnavailable(err, db);
        }
        if (cache.size >= MAX_CACHED_KEYS) cache.clear();
        cache.set(cacheKey, { key: found, at: now() });
      }
      if (found === null || found.revoked) return null;
      noteUsed(found.id);
      return found;
    },
    async countKeys() {
      const counts = await countKeys(db);
      // Also primes authRequired(): known from startup on, even if the database then goes away.
      required = { value: counts.total > 0, at: now() };
      return counts;
    },
    invalidate() {
      cache.clear();
      required = undefined;
    },
    async close() {
      clearInterval(timer);
      await flushTouches();
    },
  };
}

function toUnavailable(err: unknown, db: Db) {
  const message = err instanceof Error ? err.message : String(err);
  const failure = errors.LAT_ERR_STORE_UNAVAILABLE(db.description, message);
  (failure as { cause?: unknown }).cause = err;
  return failure;
}
