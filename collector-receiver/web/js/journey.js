// A request's journey: every stored span of one trace across services as a waterfall
// (GET /traces/:traceId). Bars are positioned through CSSOM (style.left/width), which the CSP allows.
import { el, link, notice, serviceHref } from './dom.js';
import { ApiError, describeFailure, getJson } from './api.js';
import { formatClock, formatMs } from './format.js';

/** @param {HTMLElement} root @param {string} traceId */
export function mountJourney(root, traceId) {
  const body = el('div', {}, el('p', { class: 'muted' }, 'Loading…'));
  root.replaceChildren(el('section', { class: 'panel', id: 'journey' },
    el('h2', {}, 'Journey ', el('code', { class: 'trace-id' }, traceId)), body));
  let loaded = false;

  const load = async () => {
    let data;
    try {
      data = await getJson(`/traces/${encodeURIComponent(traceId)}`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404 && !err.notAvailable) {
        body.replaceChildren(notice('No span of this trace is stored yet (spans arrive within about a second; traces may be sampled). This view updates when new data arrives.'));
      } else {
        body.replaceChildren(notice(describeFailure(err, 'Journey'), 'warn'));
      }
      return;
    }
    loaded = true;
    body.replaceChildren(renderWaterfall(data));
  };

  return {
    ready: load(),
    /** @param {string[] | null} _changed */
    refresh(_changed) { return loaded ? Promise.resolve() : load(); },
    unmount() {},
  };
}

/** @param {any} trace */
function renderWaterfall(trace) {
  /** @type {any[]} */
  const spans = trace.spans ?? [];
  const total = trace.durationMs > 0 ? trace.durationMs : Math.max(1, ...spans.map((s) => (s.offsetMs ?? 0) + (s.durationMs ?? 0)));
  const services = [...new Set(spans.map((s) => s.service))];
  const head = el('p', { class: 'muted journey-summary' },
    `${spans.length} span${spans.length === 1 ? '' : 's'} across ${services.length} service${services.length === 1 ? '' : 's'} · `,
    `started ${formatClock(trace.startTime)} · total ${formatMs(trace.durationMs)}`);
  const scale = el('div', { class: 'wf-row wf-scale' }, el('div', { class: 'wf-label' }, 'Span'),
    el('div', { class: 'wf-track' }, ...[0, 0.25, 0.5, 0.75, 1].map((f) => {
      const tick = el('span', { class: 'wf-tick' }, formatMs(total * f));
      tick.style.left = `${f * 100}%`;
      return tick;
    })));
  const rows = spans.map((s) => {
    const label = el('div', { class: 'wf-label' },
      link(serviceHref(s.service), s.service, `svc-badge ${hueClass(s.service)}`),
      ' ', el('span', { class: 'wf-name' }, s.name ?? `${s.method ?? ''} ${s.route ?? ''}`),
      s.kind === 'client' ? el('span', { class: 'muted' }, ' outgoing call') : null);
    label.style.paddingLeft = `${Math.min(s.depth ?? 0, 12) * 14}px`;
    const bar = el('div', { class: `wf-bar ${hueClass(s.service)}${s.error ? ' wf-error' : ''}` });
    bar.style.left = `${Math.max(0, Math.min(100, ((s.offsetMs ?? 0) / total) * 100))}%`;
    bar.style.width = `${Math.max(0.4, Math.min(100, ((s.durationMs ?? 0) / total) * 100))}%`;
    const detail = `${s.kind ?? ''} ${s.method ?? ''} ${s.route ?? ''} → ${s.statusCode ?? '—'} · ${formatMs(s.durationMs)} at +${formatMs(s.offsetMs)}`;
    bar.setAttribute('title', detail);
    return el('div', { class: 'wf-row', dataset: { spanId: s.spanId, service: s.service } }, label,
      el('div', { class: 'wf-track' }, bar),
      el('div', { class: 'wf-dur num' }, el('span', { class: s.error ? 'status-error' : 'status-ok' }, String(s.statusCode ?? '')), ' ', formatMs(s.durationMs)));
  });
  return el('div', {}, head, el('div', { class: 'waterfall', role: 'table', 'aria-label': 'Spans of the trace' }, scale, ...rows));
}

/** One of eight colour classes per service name (stable across views). @param {string} name */
function hueClass(name) {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return `hue-${h % 8}`;
}
