// Number and time formatting, shared by the page and the browser test (which formats the API's numbers
// with these same functions and compares them with what the page shows). "No data" is never zero:
// null renders as NO_DATA.

export const NO_DATA = '—';

/** @param {number | null | undefined} v */
export function formatRpm(v) {
  if (v === null || v === undefined) return NO_DATA;
  if (v === 0) return '0';
  // A quiet service (1 request in an hour = 0.017/min) must not read as zero.
  if (v < 1) return v.toPrecision(2);
  return v >= 100 ? String(Math.round(v)) : v.toFixed(1);
}

/** @param {number | null | undefined} v milliseconds */
export function formatMs(v) {
  if (v === null || v === undefined) return NO_DATA;
  if (v < 10) return `${v.toFixed(2)} ms`;
  if (v < 100) return `${v.toFixed(1)} ms`;
  if (v < 1000) return `${Math.round(v)} ms`;
  return `${(v / 1000).toFixed(2)} s`;
}

/** @param {number | null | undefined} v a fraction 0–1 */
export function formatPercent(v) {
  if (v === null || v === undefined) return NO_DATA;
  const pct = v * 100;
  return `${pct === 0 ? '0' : pct < 10 ? pct.toFixed(2) : pct.toFixed(1)} %`;
}

/** @param {number | null | undefined} v */
export function formatApdex(v) {
  if (v === null || v === undefined) return NO_DATA;
  return v.toFixed(2);
}

/** @param {number | null | undefined} v */
export function formatCount(v) {
  if (v === null || v === undefined) return NO_DATA;
  return String(v).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** "4 s ago", "3 min ago", "2 h ago", or the date. @param {string | null | undefined} iso @param {number} now */
export function formatAgo(iso, now) {
  if (!iso) return 'never';
  const ms = now - Date.parse(iso);
  if (!Number.isFinite(ms)) return NO_DATA;
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(iso).toISOString().slice(0, 10);
}

/** Local wall-clock time with milliseconds, "14:03:07.123". @param {string} iso */
export function formatClock(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return NO_DATA;
  const pad = (/** @type {number} */ n, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** @param {string | null | undefined} caller */
export function formatCaller(caller) {
  return caller === null || caller === undefined || caller === '' ? '(uninstrumented)' : caller;
}

/** The label under the health light. @param {string} health */
export function healthLabel(health) {
  switch (health) {
    case 'green': return 'healthy';
    case 'yellow': return 'degraded';
    case 'red': return 'unhealthy';
    default: return 'no data';
  }
}
