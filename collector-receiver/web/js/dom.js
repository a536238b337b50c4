// DOM helpers. Every string that came from telemetry (service, route, path, caller names) reaches the
// page as a text node or an attribute value — never through innerHTML — so HTML in a name stays inert.

/**
 * @typedef {Node | string | number | null | undefined | false} Child
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs] `class`, `dataset` (object), `on<event>` (function), else setAttribute
 * @param {...(Child | Child[])} children strings become text nodes
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = String(value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), /** @type {EventListener} */ (value));
    else if (key === 'style') throw new Error('el(): set styles through CSSOM (node.style.x), the CSP refuses style attributes');
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

/** @param {Node} parent @param {Array<Child | Child[]>} children */
export function append(parent, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** Sets an element's text only when it changed (keeps selection and avoids layout work). */
export function setText(/** @type {Element} */ node, /** @type {string} */ text) {
  if (node.textContent !== text) node.textContent = text;
}

/** A link inside the page (hash routes); the href is built from encoded parts only. */
export function link(/** @type {string} */ hash, /** @type {Child} */ label, /** @type {string} */ cls = '') {
  return el('a', { href: hash, class: cls || undefined }, label);
}

export function serviceHref(/** @type {string} */ name) {
  return `#/service/${encodeURIComponent(name)}`;
}

export function traceHref(/** @type {string} */ traceId) {
  return `#/trace/${encodeURIComponent(traceId)}`;
}

/** A short explanation in place of a section whose data could not be loaded. */
export function notice(/** @type {string} */ text, /** @type {string} */ kind = 'info') {
  return el('p', { class: `notice notice-${kind}`, role: 'status' }, text);
}
