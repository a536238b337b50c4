// One service: summary, charts (requests/min, p50/p95/p99, error rate) over 15 m / 1 h / 24 h / 7 d,
// the routes table (sortable, filterable), its connections and its newest requests.
import { el, link, notice, serviceHref, setText } from './dom.js';
import { ApiError, coalesce, describeFailure, getJson } from './api.js';
import {
  formatAgo, formatApdex, formatCaller, formatCount, formatMs, formatPercent, formatRpm, healthLabel,
} from './format.js';
import { createTable } from './table.js';
import { createChart } from './charts.js';
import { createConnectionsTable, createRecentTable } from './overview.js';

/** Windows offered; '1h' asks the API for its default window so the numbers match it exactly. */
const WINDOWS = [
  { key: '15m', label: '15 m', ms: 15 * 60_000 },
  { key: '1h', label: '1 h', ms: 3_600_000 },
  { key: '24h', label: '24 h', ms: 86_400_000 },
  { key: '7d', label: '7 d', ms: 7 * 86_400_000 },
];

/** @param {HTMLElement} root @param {string} name */
export function mountService(root, name) {
  let windowKey = '1h';
  const light = el('span', { class: 'light light-grey', role: 'img' });
  const healthText = el('span', { class: 'health-text', dataset: { field: 'health' } });
  const summary = el('div', { class: 'stats wide', id: 'service-summary' });
  const summaryFields = /** @type {Record<string, HTMLElement>} */ ({});
  for (const [field, label] of [['requestCount', 'requests'], ['rpm', 'req/min'], ['errorRate', 'errors'], ['p50Ms', 'p50'], ['p95Ms', 'p95'], ['p99Ms', 'p99'], ['apdex', 'Apdex'], ['lastSeen', 'last seen']]) {
    const value = el('span', { class: 'stat-value', dataset: { field } });
    summaryFields[field] = value;
    summary.appendChild(el('div', { class: 'stat' }, el('span', { class: 'stat-label' }, label), value));
  }
  const summaryStatus = el('div');
  const windowButtons = WINDOWS.map((w) => el('button', { type: 'button', class: 'window', dataset: { window: w.key },
    onclick: () => { windowKey = w.key; markWindow(); void refreshWindowed(); } }, w.label));
  const markWindow = () => { for (const b of windowButtons) b.setAttribute('aria-pressed', String(b.dataset.window === windowKey)); };
  markWindow();

  const chartBoxes = { requests: el('div', { class: 'chart' }), latency: el('div', { class: 'chart' }), errors: el('div', { class: 'chart' }) };
  const chartStatus = el('div');
  const routesBox = el('div');
  const connectionsBox = el('div');
  const recentBox = el('div');
  const overflowNote = el('p', { class: 'notice notice-warn', hidden: true }, 'This service has more distinct routes than the receiver keeps; the rest are counted under an overflow route.');

  root.replaceChildren(
    el('section', { class: 'panel' },
      el('div', { class: 'panel-head' },
        el('h2', { class: 'service-title' }, light, ' ', el('span', { id: 'service-name' }, name), ' ', healthText),
        el('div', { class: 'windows', role: 'group', 'aria-label': 'Time window' }, windowButtons)),
      summaryStatus, summary),
    el('section', { class: 'panel' }, el('h2', {}, 'Over time'), chartStatus, el('div', { class: 'charts' }, chartBoxes.requests, chartBoxes.latency, chartBoxes.errors)),
    el('section', { class: 'panel', id: 'routes' }, el('h2', {}, 'Routes'), overflowNote, routesBox),
    el('section', { class: 'panel', id: 'service-connections' }, el('h2', {}, 'Connections'), connectionsBox),
    el('section', { class: 'panel', id: 'service-recent' }, el('h2', {}, 'Recent requests'), recentBox),
  );

  const charts = {
    requests: createChart(chartBoxes.requests, { name: 'requests', title: 'Requests / min', format: (v) => formatRpm(v), series: [{ label: 'req/min', stroke: '#5aa9ff' }] }),
    latency: createChart(chartBoxes.latency, { name: 'latency', title: 'Latency', format: (v) => formatMs(v), axisFormat: axisMs, series: [
      { label: 'p50', stroke: '#7bd88f' }, { label: 'p95', stroke: '#f5c451' }, { label: 'p99', stroke: '#ff7a6b' }] }),
    errors: createChart(chartBoxes.errors, { name: 'errors', title: 'Error rate', format: (v) => formatPercent(v), series: [{ label: 'errors', stroke: '#ff7a6b' }] }),
  };
  const routesTable = createRoutesTable();
  const connectionsTable = createConnectionsTable();
  const recentTable = createRecentTable(false);
  const mounted = new Set();
  /** @param {HTMLElement} box @param {{ root: HTMLElement }} table */
  const show = (box, table) => { if (!mounted.has(box)) { box.replaceChildren(table.root); mounted.add(box); } };
  /** @param {HTMLElement} box @param {unknown} err @param {string} what */
  const fail = (box, err, what) => { mounted.delete(box); box.replaceChildren(notice(describeFailure(err, what), 'warn')); };

  /** from/to for the chosen window; undefined for 1 h = the API's default window. */
  const windowParams = () => {
    if (windowKey === '1h') return {};
    const w = WINDOWS.find((x) => x.key === windowKey) ?? WINDOWS[1];
    const to = Date.now();
    return { from: to - /** @type {{ ms: number }} */ (w).ms, to };
  };

  const loadSummary = coalesce(async () => {
    try {
      const data = await getJson('/metrics/services', windowParams());
      const s = (data.services ?? []).find((x) => x.name === name);
      if (!s) { summaryStatus.replaceChildren(notice(`No data from ${name} in this window.`)); return; }
      summaryStatus.replaceChildren();
      const health = ['green', 'yellow', 'red'].includes(s.health) ? s.health : 'grey';
      light.className = `light light-${health}`;
      light.setAttribute('title', s.healthReason ?? healthLabel(health));
      light.setAttribute('aria-label', healthLabel(health));
      setText(healthText, healthLabel(health));
      setText(summaryFields.requestCount, formatCount(s.requestCount));
      setText(summaryFields.rpm, formatRpm(s.rpm));
      setText(summaryFields.errorRate, formatPercent(s.errorRate));
      setText(summaryFields.p50Ms, formatMs(s.p50Ms));
      setText(summaryFields.p95Ms, formatMs(s.p95Ms));
      setText(summaryFields.p99Ms, formatMs(s.p99Ms));
      setText(summaryFields.apdex, formatApdex(s.apdex));
      setText(summaryFields.lastSeen, formatAgo(s.lastSeen, Date.now()));
    } catch (err) {
      summaryStatus.replaceChildren(notice(describeFailure(err, 'Summary'), 'warn'));
    }
  });

  const loadCharts = coalesce(async () => {
    const w = WINDOWS.find((x) => x.key === windowKey) ?? WINDOWS[1];
    const to = Date.now();
    try {
      const data = await getJson('/metrics/timeseries', { service: name, from: to - /** @type {{ ms: number }} */ (w).ms, to });
      chartStatus.replaceChildren();
      /** @type {any[]} */
      const points = data.points ?? [];
      const perMinute = 60 / (data.stepSeconds || 60);
      const xs = points.map((p) => Date.parse(p.t) / 1000);
      charts.requests.setData(xs, [points.map((p) => (p.requests === null ? null : p.requests * perMinute))]);
      charts.latency.setData(xs, [points.map((p) => p.p50Ms), points.map((p) => p.p95Ms), points.map((p) => p.p99Ms)]);
      charts.errors.setData(xs, [points.map((p) => p.errorRate)]);
    } catch (err) {
      chartStatus.replaceChildren(notice(describeFailure(err, 'Charts'), 'warn'));
    }
  });

  const loadRoutes = coalesce(async () => {
    try {
      const data = await getJson('/metrics/routes', { service: name, ...windowParams() });
      overflowNote.hidden = !data.overflowed;
      show(routesBox, routesTable);
      routesTable.setRows(data.routes ?? []);
    } catch (err) {
      fail(routesBox, err, 'Routes');
    }
  });

  const loadConnections = coalesce(async () => {
    try {
      const data = await getJson('/metrics/connections', { service: name, ...windowParams() });
      show(connectionsBox, connectionsTable);
      connectionsTable.setRows((data.edges ?? []).filter((/** @type {any} */ e) => e.caller === name || e.callee === name));
    } catch (err) {
      fail(connectionsBox, err, 'Connections');
    }
  });

  const loadRecent = coalesce(async () => {
    try {
      const data = await getJson(`/metrics/recent/${encodeURIComponent(name)}`, { limit: 50 });
      show(recentBox, recentTable);
      recentTable.setRows(data.requests ?? []);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'LAT_ERR_API_UNKNOWN_SERVICE') {
        mounted.delete(recentBox);
        recentBox.replaceChildren(notice(`The receiver has no service named “${name}”.`, 'warn'));
      } else {
        fail(recentBox, err, 'Recent requests');
      }
    }
  });

  const refreshWindowed = () => Promise.all([loadSummary(), loadCharts(), loadRoutes(), loadConnections()]);
  const refreshAll = () => Promise.all([refreshWindowed(), loadRecent()]);

  return {
    ready: refreshAll(),
    /** @param {string[] | null} changed */
    refresh(changed) {
      if (changed === null || changed.includes(name)) return refreshAll();
      return loadConnections();
    },
    unmount() {
      for (const chart of Object.values(charts)) chart.destroy();
    },
  };
}

/** Axis labels: whole milliseconds (or seconds) so they fit the axis. @param {number} v */
function axisMs(v) {
  return v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`;
}

function createRoutesTable() {
  return createTable({
    name: 'routes',
    sortKey: 'requestCount',
    empty: 'No requests in this window.',
    rowKey: (/** @type {any} */ r) => `${r.method} ${r.route}`,
    filterText: (/** @type {any} */ r) => `${r.method} ${r.route}`,
    filterPlaceholder: 'Filter routes',
    columns: [
      { key: 'method', label: 'Method', sortValue: (/** @type {any} */ r) => r.method, render: (/** @type {any} */ r) => r.method },
      { key: 'route', label: 'Route', sortValue: (/** @type {any} */ r) => r.route, render: (/** @type {any} */ r) => el('span', { class: 'path' }, r.route) },
      { key: 'requestCount', label: 'Requests', numeric: true, sortValue: (/** @type {any} */ r) => r.requestCount, render: (/** @type {any} */ r) => formatCount(r.requestCount) },
      { key: 'rpm', label: 'req/min', numeric: true, sortValue: (/** @type {any} */ r) => r.rpm, render: (/** @type {any} */ r) => formatRpm(r.rpm) },
      { key: 'avgMs', label: 'Avg', numeric: true, sortValue: (/** @type {any} */ r) => r.avgMs, render: (/** @type {any} */ r) => formatMs(r.avgMs) },
      { key: 'p50Ms', label: 'p50', numeric: true, sortValue: (/** @type {any} */ r) => r.p50Ms, render: (/** @type {any} */ r) => formatMs(r.p50Ms) },
      { key: 'p95Ms', label: 'p95', numeric: true, sortValue: (/** @type {any} */ r) => r.p95Ms, render: (/** @type {any} */ r) => formatMs(r.p95Ms) },
      { key: 'p99Ms', label: 'p99', numeric: true, sortValue: (/** @type {any} */ r) => r.p99Ms, render: (/** @type {any} */ r) => formatMs(r.p99Ms) },
      { key: 'errorRate', label: 'Errors', numeric: true, sortValue: (/** @type {any} */ r) => r.errorRate, render: (/** @type {any} */ r) => formatPercent(r.errorRate) },
      { key: 'callers', label: 'Callers', sortValue: (/** @type {any} */ r) => (r.callers ?? []).length, render: (/** @type {any} */ r) => callersCell(r.callers ?? []) },
      { key: 'lastRequest', label: 'Last request', sortValue: (/** @type {any} */ r) => r.lastRequest, render: (/** @type {any} */ r) => el('span', { title: r.lastRequest ?? '' }, formatAgo(r.lastRequest, Date.now())) },
    ],
  });
}

/** @param {{ service: string | null, requestCount: number, share: number }[]} callers */
function callersCell(callers) {
  if (callers.length === 0) return el('span', { class: 'muted' }, '—');
  return el('span', { class: 'callers' }, callers.map((c, i) => el('span', { class: 'caller' },
    i > 0 ? ', ' : '',
    c.service ? link(serviceHref(c.service), c.service) : el('span', { class: 'muted' }, formatCaller(null)),
    ` ${Math.round(c.share * 100)} %`)));
}
