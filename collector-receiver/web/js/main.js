// Entry: hash routes (#/, #/service/NAME, #/trace/ID), the live connection, and a slow tick that
// keeps "last seen" and staleness (grey lights) current when nothing is being committed.
import { mountSignOut } from './auth.js';
import { el, link, serviceHref, setText } from './dom.js';
import { connectLive } from './live.js';
import { mountOverview } from './overview.js';
import { mountService } from './service.js';
import { mountJourney } from './journey.js';

/** Refresh without a live update this often (relative times, health turning grey). */
const TICK_MS = 10_000;

const app = /** @type {HTMLElement} */ (document.getElementById('app'));
const crumbs = /** @type {HTMLElement} */ (document.getElementById('crumbs'));
const liveState = /** @type {HTMLElement} */ (document.getElementById('live-state'));

/** @type {{ ready: Promise<unknown>, refresh(changed: string[] | null): Promise<unknown>, unmount(): void } | null} */
let view = null;
let updates = 0;

function route() {
  view?.unmount();
  const hash = window.location.hash.replace(/^#\/?/, '');
  const [kind, ...rest] = hash.split('/');
  const arg = decodeURIComponent(rest.join('/'));
  if (kind === 'service' && arg) {
    crumbs.replaceChildren(el('span', { class: 'muted' }, '/ '), link(serviceHref(arg), arg));
    document.title = `${arg} · Lattice`;
    view = mountService(app, arg);
  } else if (kind === 'trace' && arg) {
    crumbs.replaceChildren(el('span', { class: 'muted' }, '/ journey'));
    document.title = 'Journey · Lattice';
    view = mountJourney(app, arg);
  } else {
    crumbs.replaceChildren();
    document.title = 'Lattice';
    view = mountOverview(app);
  }
  document.body.dataset.view = kind || 'overview';
  document.body.dataset.ready = 'false';
  const mounted = view;
  void mounted.ready.then(() => { if (view === mounted) document.body.dataset.ready = 'true'; });
}

window.addEventListener('hashchange', route);
route();

connectLive({
  onUpdate(update) {
    const current = view;
    void current?.refresh(update.services).then(() => {
      updates++;
      document.body.dataset.liveUpdates = String(updates);
      document.body.dataset.lastUpdate = update.at;
    });
  },
  onReconnect() {
    document.body.dataset.reconnects = String(Number(document.body.dataset.reconnects ?? '0') + 1);
    void view?.refresh(null);
  },
  onState(state) {
    liveState.dataset.state = state;
    setText(liveState, state === 'live' ? 'live' : 'reconnecting…');
  },
});

setInterval(() => { void view?.refresh(null); }, TICK_MS);

void mountSignOut();
