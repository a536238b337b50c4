/**
 * The /metrics/routes answer as a terminal table. Pure: no I/O, no clock.
 * "No data" is never shown as zero: a null latency or rate prints as `—`.
 */

/** The part of GET /metrics/routes (docs/api.md) the table shows. */
export interface RoutesAnswer {
  service: string;
  from: string;
  to: string;
  overflowed?: boolean;
  routes: Array<{
    method: string;
    route: string;
    requestCount: number;
    avgMs: number | null;
    p95Ms: number | null;
    p99Ms: number | null;
    errorRate: number | null;
  }>;
}

const HEADERS = ['METHOD', 'ROUTE', 'REQUESTS', 'AVG', 'P95', 'P99', 'ERRORS'] as const;
/** Columns right-aligned (numbers). */
const RIGHT = [false, false, true, true, true, true, true];
const NONE = '—';
/** Longest route shown before it is cut with … (keeps one row per line on a normal terminal). */
const MAX_ROUTE_CHARS = 60;

export function formatMs(ms: number | null): string {
  if (ms === null) return NONE;
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  return `${ms.toFixed(1)} ms`;
}

export function formatRate(rate: number | null): string {
  if (rate === null) return NONE;
  if (rate > 0 && rate < 0.001) return '<0.1%';
  return `${(rate * 100).toFixed(1)}%`;
}

/**
 * Header line, then one row per route, busiest first (then by route, method), columns aligned.
 * `label` describes the window (e.g. `last 1h`).
 */
export function toRoutesTable(answer: RoutesAnswer, label: string): string {
  const routes = answer.routes.slice().sort((a, b) => b.requestCount - a.requestCount
    || (a.route < b.route ? -1 : a.route > b.route ? 1 : 0) || (a.method < b.method ? -1 : a.method > b.method ? 1 : 0));
  const total = routes.reduce((n, r) => n + r.requestCount, 0);
  const title = `${answer.service} · ${label} (${answer.from} → ${answer.to}) · ${routes.length} route${routes.length === 1 ? '' : 's'}, ${total} request${total === 1 ? '' : 's'}`;
  if (routes.length === 0) return `${title}\n\nNo requests in this window.\n`;
  const rows: string[][] = routes.map((r) => [
    r.method,
    r.route.length > MAX_ROUTE_CHARS ? `${r.route.slice(0, MAX_ROUTE_CHARS - 1)}…` : r.route,
    String(r.requestCount),
    formatMs(r.avgMs), formatMs(r.p95Ms), formatMs(r.p99Ms), formatRate(r.errorRate),
  ]);
  const widths = HEADERS.map((h, c) => Math.max(h.length, ...rows.map((row) => [...row[c]!].length)));
  const line = (cells: readonly string[]) => cells
    .map((cell, c) => (RIGHT[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
    .join('  ')
    .trimEnd();
  const out = [title, '', line(HEADERS), ...rows.map(line)];
  if (answer.overflowed) out.push('', 'Routes beyond the per-service limit are counted under (overflow).');
  return `${out.join('\n')}\n`;
}
