// The overview: one card per service (health light, req/min, error rate, p95, Apdex, sparkline, last
// seen), the connections between services, and the newest requests across services.
import { el, link, notice, serviceHref, setText, traceHref } from './dom.js';
import { coalesce, describeFailure, getJson } from './api.js';
import {
  formatAgo, formatApdex, formatCaller, formatClock, formatCount, formatMs, formatPercent, formatRpm, healthLabel,
} from './format.js';
import { createTable } from './table.js';

const SVG = 'http://www.w3.org/2000/svg';
/** Services whose recent requests the overview merges (one request each per refresh). */
const RECENT_SERVICES_MAX = 8;

/** @param {HTMLElement} root */
export function mountOverview(root) {
  const grid = el('div', { class: 'cards', id: 'service-cards' });
  const servicesStatus = el('div', { class: 'status-line' });
  const connectionsBox = el('div');
  const recentBox = el('div');
  root.replaceChildren(
    el('section', { class: 'panel', id: 'services' },
      el('div', { class: 'panel-head' }, el('h2', {}, 'Services'), healthLegend()),
      servicesStatus, grid),
    el('section', { class: 'panel', id: 'connections' }, el('h2', {}, 'Connections'), el('p', { class: 'muted' }, 'Who calls whom over the last hour.'), connectionsBox),
    el('section', { class: 'panel', id: 'recent' }, el('h2', {}, 'Recent requests'), el('p', { class: 'muted' }, 'Newest first; a trace id opens the request’s journey.'), recentBox),
  );

  /** @type {Map<string, ReturnType<typeof createCard>>} */
  const cards = new Map();
  /** @type {string[]} */
  let serviceNames = [];
  const connectionsTable = createConnectionsTable();
  const recentTable = createRecentTable(true);
  let connectionsMounted = false;
  let recentMounted = false;

  const loadServices = coalesce(async () => {
    let data;
    try {
      data = await getJson('/metrics/services');
    } catch (err) {
      grid.replaceChildren();
      cards.clear();
      servicesStatus.replaceChildren(notice(describeFailure(err, 'Services'), 'warn'));
      return;
    }
    servicesStatus.replaceChildren();
    const now = Date.now();
    /** @type {any[]} */
    const services = data.services ?? [];
    serviceNames = services.map((s) => s.name);
    if (services.length === 0) {
      grid.replaceChildren(notice('No service has sent data yet. Point one at this receiver: OTEL_EXPORTER_OTLP_ENDPOINT=' + window.location.origin + ' node --require @lattice/otel-register app.js'));
      cards.clear();
      return;
    }
    const seen = new Set();
    for (const service of services) {
      seen.add(service.name);
      let card = cards.get(service.name);
      if (!card) {
        card = createCard(service.name);
        cards.set(service.name, card);
      }
      card.update(service, now);
    }
    for (const [name, card] of cards) {
      if (!seen.has(name)) { card.root.remove(); cards.delete(name); }
    }
    // Keep the API's order (it sorts); appendChild moves existing nodes without recreating them.
    const children = [...grid.children];
    if (children.length !== services.length || services.some((s, i) => children[i] !== cards.get(s.name)?.root)) {
      grid.replaceChildren(...services.map((s) => /** @type {any} */ (cards.get(s.name)).root));
    }
  });

  const loadConnections = coalesce(async () => {
    try {
      const data = await getJson('/metrics/connections');
      if (!connectionsMounted) { connectionsBox.replaceChildren(connectionsTable.root); connectionsMounted = true; }
      connectionsTable.setRows(data.edges ?? []);
    } catch (err) {
      connectionsMounted = false;
      connectionsBox.replaceChildren(notice(describeFailure(err, 'Connections'), 'warn'));
    }
  });

  const loadRecent = coalesce(async () => {
    const names = serviceNames.slice(0, RECENT_SERVICES_MAX);
    const answers = await Promise.allSettled(names.map((name) => getJson(`/metrics/recent/${encodeURIComponent(name)}`, { limit: 20 })));
    /** @type {any[]} */
    const rows = [];
    answers.forEach((answer, i) => {
      if (answer.status !== 'fulfilled') return;
      for (const r of answer.value.requests ?? []) rows.push({ ...r, service: names[i] });
    });
    rows.sort((a, b) => Date.parse(b.timestamp) - Date.parse(a.timestamp));
    if (!recentMounted) { recentBox.replaceChildren(recentTable.root); recentMounted = true; }
    recentTable.setRows(rows.slice(0, 30));
  });

  const refreshAll = async () => {
    await loadServices();
    await Promise.all([loadConnections(), loadRecent()]);
  };

  return {
    ready: refreshAll(),
    /** @param {string[] | null} _changed services named by a live update (null: refresh everything) */
    refresh(_changed) { return refreshAll(); },
    unmount() {},
  };
}

/** The health rule as the API applies it (docs/api.md, GET /metrics/services). */
function healthLegend() {
  return el('details', { class: 'legend' },
    el('summary', {}, 'How health is decided'),
    el('ul', {},
      el('li', {}, el('span', { class: 'light light-red' }), ' red: error rate ≥ LATTICE_HEALTH_ERROR_RED (default 5 %) or Apdex < LATTICE_HEALTH_APDEX_RED (0.7)'),
      el('li', {}, el('span', { class: 'light light-yellow' }), ' yellow: error rate ≥ LATTICE_HEALTH_ERROR_YELLOW (1 %) or Apdex < LATTICE_HEALTH_APDEX_YELLOW (0.85)'),
      el('li', {}, el('span', { class: 'light light-green' }), ' green: otherwise'),
      el('li', {}, el('span', { class: 'light light-grey' }), ' grey: no data within LATTICE_STALE_AFTER_S (default 120 s) — never shown as zero'),
    ),
    el('p', { class: 'muted' }, 'Apdex T = LATTICE_APDEX_T_MS (default 500 ms); error = status ≥ 500. The rule is documented in docs/api.md and the ',
      el('a', { href: '/docs' }, 'API reference'), '.'),
  );
}

/** @param {string} name */
function createCard(name) {
  const light = el('span', { class: 'light light-grey', role: 'img' });
  const healthText = el('span', { class: 'health-text', dataset: { field: 'health' } });
  /** @param {string} field @param {string} label */
  const stat = (field, label) => {
    const value = el('span', { class: 'stat-value', dataset: { field } });
    return { node: el('div', { class: 'stat' }, el('span', { class: 'stat-label' }, label), value), value };
  };
  const rpm = stat('rpm', 'req/min');
  const errorRate = stat('errorRate', 'errors');
  const p95 = stat('p95Ms', 'p95');
  const apdex = stat('apdex', 'Apdex');
  const lastSeen = el('span', { class: 'muted', dataset: { field: 'lastSeen' } });
  const reason = el('p', { class: 'reason muted', dataset: { field: 'healthReason' } });
  const spark = document.createElementNS(SVG, 'svg');
  spark.setAttribute('class', 'sparkline');
  spark.setAttribute('viewBox', '0 0 100 24');
  spark.setAttribute('preserveAspectRatio', 'none');
  spark.setAttribute('aria-label', `requests per minute, last 30 minutes`);
  const root = el('article', { class: 'card', dataset: { service: name } },
    el('div', { class: 'card-head' }, light, link(serviceHref(name), name, 'service-name'), healthText),
    el('div', { class: 'stats' }, rpm.node, errorRate.node, p95.node, apdex.node),
    spark,
    el('div', { class: 'card-foot' }, el('span', { class: 'muted' }, 'last seen '), lastSeen, el('span', { class: 'muted', dataset: { field: 'requestCount' } })),
    reason,
  );
  return {
    root,
    /** @param {any} s a /metrics/services entry @param {number} now */
    update(s, now) {
      const health = ['green', 'yellow', 'red'].includes(s.health) ? s.health : 'grey';
      light.className = `light light-${health}`;
      light.setAttribute('aria-label', healthLabel(health));
      light.setAttribute('title', s.healthReason ?? healthLabel(health));
      root.dataset.health = health;
      setText(healthText, healthLabel(health));
      setText(rpm.value, formatRpm(s.rpm));
      setText(errorRate.value, formatPercent(s.errorRate));
      setText(p95.value, formatMs(s.p95Ms));
      setText(apdex.value, formatApdex(s.apdex));
      setText(lastSeen, formatAgo(s.lastSeen, now));
      lastSeen.setAttribute('title', s.lastSeen ?? 'never');
      const countNode = root.querySelector('[data-field="requestCount"]');
      if (countNode) setText(countNode, ` · ${formatCount(s.requestCount)} requests in the last hour`);
      setText(reason, s.healthReason ?? '');
      drawSparkline(spark, s.sparkline ?? []);
    },
  };
}

/** Polyline segments of requests per minute; `null` minutes (service silent) break the line. */
function drawSparkline(/** @type {SVGSVGElement} */ svg, /** @type {{ t: string, requests: number | null }[]} */ points) {
  const max = Math.max(1, ...points.map((p) => p.requests ?? 0));
  const n = points.length;
  /** @type {string[][]} */
  const segments = [];
  let current = /** @type {string[] | null} */ (null);
  points.forEach((p, i) => {
    if (p.requests === null || p.requests === undefined) { current = null; return; }
    const x = n <= 1 ? 100 : (i / (n - 1)) * 100;
    const y = 23 - (p.requests / max) * 22;
    if (!current) { current = []; segments.push(current); }
    current.push(`${x.toFixed(2)},${y.toFixed(2)}`);
  });
  const lines = segments.map((seg) => {
    const line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('points', seg.length === 1 ? `${seg[0]} ${seg[0]}` : seg.join(' '));
    return line;
  });
  svg.replaceChildren(...lines);
  svg.dataset.points = String(points.filter((p) => p.requests !== null && p.requests !== undefined).length);
}

export function createConnectionsTable() {
  return createTable({
    name: 'connections',
    sortKey: 'requestCount',
    empty: 'No calls between services in this window.',
    rowKey: (/** @type {any} */ e) => `${e.caller ?? ''}→${e.callee}`,
    filterText: (/** @type {any} */ e) => `${e.caller ?? ''} ${e.callee}`,
    filterPlaceholder: 'Filter by service',
    columns: [
      { key: 'caller', label: 'Caller', sortValue: (/** @type {any} */ e) => e.caller ?? '', render: (/** @type {any} */ e) => (e.caller ? link(serviceHref(e.caller), e.caller) : el('span', { class: 'muted' }, formatCaller(null))) },
      { key: 'callee', label: 'Callee', sortValue: (/** @type {any} */ e) => e.callee, render: (/** @type {any} */ e) => link(serviceHref(e.callee), e.callee) },
      { key: 'requestCount', label: 'Requests', numeric: true, sortValue: (/** @type {any} */ e) => e.requestCount, render: (/** @type {any} */ e) => formatCount(e.requestCount) },
      { key: 'rpm', label: 'req/min', numeric: true, sortValue: (/** @type {any} */ e) => e.rpm, render: (/** @type {any} */ e) => formatRpm(e.rpm) },
      { key: 'errorRate', label: 'Errors', numeric: true, sortValue: (/** @type {any} */ e) => e.errorRate, render: (/** @type {any} */ e) => formatPercent(e.errorRate) },
      { key: 'p95Ms', label: 'p95', numeric: true, sortValue: (/** @type {any} */ e) => e.p95Ms, render: (/** @type {any} */ e) => formatMs(e.p95Ms) },
    ],
  });
}

/** @param {boolean} withService */
export function createRecentTable(withService) {
  /** @type {import('./table.js').Column<any>[]} */
  const columns = [
    { key: 'timestamp', label: 'Time', sortValue: (r) => r.timestamp, render: (r) => formatClock(r.timestamp) },
  ];
  if (withService) columns.push({ key: 'service', label: 'Service', sortValue: (r) => r.service, render: (r) => link(serviceHref(r.service), r.service) });
  columns.push(
    { key: 'method', label: 'Method', sortValue: (r) => r.method, render: (r) => r.method },
    { key: 'path', label: 'Path', sortValue: (r) => r.path, render: (r) => el('span', { class: 'path' }, r.path) },
    { key: 'statusCode', label: 'Status', numeric: true, sortValue: (r) => r.statusCode, render: (r) => el('span', { class: r.statusCode >= 500 ? 'status-error' : r.statusCode >= 400 ? 'status-warn' : 'status-ok' }, String(r.statusCode)) },
    { key: 'responseTimeMs', label: 'Duration', numeric: true, sortValue: (r) => r.responseTimeMs, render: (r) => formatMs(r.responseTimeMs) },
    { key: 'caller', label: 'Caller', sortValue: (r) => r.callerServiceName ?? '', render: (r) => formatCaller(r.callerServiceName) },
    { key: 'traceId', label: 'Trace', sortValue: (r) => r.traceId, render: (r) => link(traceHref(r.traceId), r.traceId.slice(0, 16), 'trace-link') },
  );
  return createTable({
    name: withService ? 'recent' : 'service-recent',
    sortKey: 'timestamp',
    empty: 'No requests yet.',
    rowKey: (r) => r.spanId,
    filterText: (r) => `${r.service ?? ''} ${r.method} ${r.path} ${r.statusCode} ${r.callerServiceName ?? ''} ${r.traceId}`,
    filterPlaceholder: 'Filter requests',
    columns,
  });
}
