// Sign-in for a receiver that requires keys (docs/tenancy.md): when the API answers 401, the page
// shows a form for a read token (lat_read_…) and POSTs it to /auth/session, which sets an HttpOnly
// cookie; fetches and the live EventSource then carry it. Plain DOM, text nodes only; no inline
// script (the CSP is unchanged: the form is submitted by fetch, never by navigation).
// Signed in by the cookie, the header shows "Sign out": DELETE /auth/session, then a reload, which
// the API answers 401 again, so the token form comes back.
import { el } from './dom.js';

let shown = false;

/** Shows the token form once (later 401s while it is up change nothing). @param {string} message */
export function showSignIn(message) {
  if (shown) return;
  shown = true;
  const app = document.getElementById('app');
  const input = /** @type {HTMLInputElement} */ (el('input', {
    type: 'password', name: 'token', id: 'token', autocomplete: 'off', spellcheck: 'false', required: true,
    placeholder: 'lat_read_…', size: 56,
  }));
  const status = el('p', { class: 'muted', role: 'status', id: 'sign-in-status' });
  const form = el('form', { class: 'sign-in', id: 'sign-in', onsubmit: (/** @type {SubmitEvent} */ event) => {
    event.preventDefault();
    void submit(input.value.trim(), status);
  } },
  el('h2', {}, 'Sign in'),
  el('p', {}, 'This receiver requires a read token for its project. Create one with ',
    el('code', {}, 'lattice-receiver keys create --project NAME --kind read'), ' and paste it here.'),
  el('p', { class: 'muted' }, message),
  el('label', { for: 'token' }, 'Read token '), input, ' ', el('button', { type: 'submit' }, 'Sign in'),
  status);
  if (app) {
    app.hidden = true;
    app.before(form);
  } else {
    document.body.append(form);
  }
  input.focus();
}

/** @param {string} token @param {HTMLElement} status */
async function submit(token, status) {
  status.textContent = 'Checking…';
  let res;
  try {
    res = await fetch('/auth/session', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }),
    });
  } catch (err) {
    status.textContent = `The receiver did not answer (${err instanceof Error ? err.message : String(err)}).`;
    return;
  }
  if (res.status === 204) {
    // Everything (views, the live stream) starts again with the cookie.
    window.location.reload();
    return;
  }
  /** @type {{ code?: string, message?: string } | null} */
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  status.textContent = `${body?.code ?? res.status}: ${body?.message ?? res.statusText}`;
}

/**
 * Adds "Sign out" to the page header when keys are required and this browser's cookie holds an
 * active read token (GET /auth/session). Open receivers and older ones (404) show nothing.
 */
export async function mountSignOut() {
  /** @type {{ auth?: string, signedIn?: boolean } | null} */
  let session = null;
  try {
    const res = await fetch('/auth/session', { headers: { accept: 'application/json' } });
    if (res.ok) session = await res.json();
  } catch { /* the receiver is away: the live state already says so */ }
  if (session?.auth !== 'required' || session.signedIn !== true) return;
  const slot = document.getElementById('session');
  if (!slot || slot.querySelector('#sign-out')) return;
  const button = el('button', { type: 'button', id: 'sign-out', class: 'sign-out', onclick: () => { void signOut(button); } }, 'Sign out');
  slot.replaceChildren(button);
}

/** @param {HTMLElement} button */
async function signOut(button) {
  button.setAttribute('disabled', '');
  try {
    await fetch('/auth/session', { method: 'DELETE' });
  } catch { /* reload anyway: the page shows what the receiver answers */ }
  window.location.reload();
}
