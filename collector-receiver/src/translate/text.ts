/**
 * The text a row carries must be text PostgreSQL can store and give back unchanged, or one bad
 * span fails the whole group-commit flush (every client's batch in it) with a 5xx:
 * - lone UTF-16 surrogates (JSON `"\ud800"`, or what protobufjs makes of invalid UTF-8) have no
 *   UTF-8 form; the driver would write U+FFFD, so the name read back would not match the row's.
 *   They become U+FFFD here, as PostgreSQL would store them.
 * - U+0000 (NUL) cannot be stored in `text` at all ("invalid byte sequence for encoding UTF8").
 * - a name indexed by a btree (services.name, the route and caller in service_metrics_1m's
 *   primary key) must fit an index row (~2.7 kB); longer values are refused by the database.
 * Those two are rejected with a message naming the attribute. Pure.
 */

/**
 * Longest route template, service or caller name kept, in UTF-8 bytes. Route and caller share
 * service_metrics_1m's primary key: 2 × 1024 bytes plus the other key columns stay under
 * PostgreSQL's btree row limit (2704 bytes on 8 kB pages). Real names are far shorter.
 */
export const MAX_NAME_BYTES = 1024;
/** Longest route template kept, in UTF-8 bytes (the same bound as names). */
export const MAX_ROUTE_BYTES = MAX_NAME_BYTES;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `text` with every lone surrogate replaced by U+FFFD (String.prototype.toWellFormed). */
export function toWellFormed(text: string): string {
  // Fast path: most names are ASCII; a surrogate is at least U+D800.
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) >= 0xd800) return text.replace(LONE_SURROGATE, '\ufffd');
  }
  return text;
}

/**
 * Why `text` cannot be stored as a name of at most `maxBytes` UTF-8 bytes ("should …, instead
 * got …"), or undefined when it can.
 */
export function storableTextProblem(text: string, maxBytes: number): string | undefined {
  if (text.includes('\u0000')) {
    return `should be text without NUL (U+0000) characters, which PostgreSQL cannot store, instead got one at index ${text.indexOf('\u0000')}`;
  }
  // A UTF-16 code unit is at most 3 UTF-8 bytes: only long strings need counting.
  if (text.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > maxBytes) return `should be at most ${maxBytes} bytes of UTF-8, instead got ${bytes}`;
  }
  return undefined;
}
