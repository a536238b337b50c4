/**
 * Lattice keys: `lat_ingest_<43 base64url chars>` (32 random bytes) for OTLP ingest and
 * `lat_read_<…>` for the query API and the dashboard. Only the SHA-256 of a key and its display
 * prefix are stored (api_keys.key_hash, api_keys.key_prefix); the key itself is shown once, when
 * it is created.
 */
import { createHash, randomBytes } from 'node:crypto';

export type KeyKind = 'ingest' | 'read';

export const KEY_KINDS: readonly KeyKind[] = ['ingest', 'read'];

/** Characters of a key shown in lists and accepted by `keys revoke` ("lat_ingest_" + 5). */
export const KEY_PREFIX_CHARS = 16;

export interface NewKey {
  kind: KeyKind;
  /** The key to hand to the user, once. */
  key: string;
  prefix: string;
  hash: Buffer;
}

export function createKey(kind: KeyKind): NewKey {
  const key = `lat_${kind}_${randomBytes(32).toString('base64url')}`;
  return { kind, key, prefix: toKeyPrefix(key), hash: hashKey(key) };
}

export function hashKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

export function toKeyPrefix(key: string): string {
  return key.slice(0, KEY_PREFIX_CHARS);
}

/** The kind a key's text says it is, or undefined for text that is not a Lattice key. */
export function kindOfKey(key: string): KeyKind | undefined {
  if (key.startsWith('lat_ingest_')) return 'ingest';
  if (key.startsWith('lat_read_')) return 'read';
  return undefined;
}

/**
 * What a key looks like in an error message: its display prefix, never the whole key (answers
 * and logs may be read by others); nothing of a text that is not a Lattice key (it may be some
 * other secret).
 */
export function describeKey(key: string): string {
  return kindOfKey(key) === undefined ? `(not a Lattice key, ${key.length} characters)` : `${toKeyPrefix(key)}…`;
}
