// A sortable, filterable table. Rows are re-rendered in place (tbody.replaceChildren) on every
// update; the sort column and the filter text survive updates.
import { el, setText } from './dom.js';

/**
 * @template T
 * @typedef {{
 *   key: string, label: string, numeric?: boolean,
 *   sortValue: (row: T) => number | string | null,
 *   render: (row: T) => Node | string,
 * }} Column
 */

/**
 * @template T
 * @param {{ columns: Column<T>[], sortKey: string, descending?: boolean, filterText?: (row: T) => string,
 *           filterPlaceholder?: string, empty: string, rowKey?: (row: T) => string, name: string }} spec
 */
export function createTable(spec) {
  let sortKey = spec.sortKey;
  let descending = spec.descending ?? true;
  let filter = '';
  /** @type {T[]} */
  let rows = [];

  const tbody = el('tbody');
  const headCells = spec.columns.map((column) => {
    const button = el('button', { type: 'button', class: 'sort', onclick: () => {
      if (sortKey === column.key) descending = !descending;
      else { sortKey = column.key; descending = Boolean(column.numeric); }
      render();
    } }, column.label);
    return el('th', { class: column.numeric ? 'num' : undefined, dataset: { key: column.key } }, button);
  });
  const count = el('span', { class: 'muted table-count' });
  const filterInput = spec.filterText
    ? el('input', { type: 'search', class: 'filter', placeholder: spec.filterPlaceholder ?? 'Filter', 'aria-label': spec.filterPlaceholder ?? `Filter ${spec.name}`,
      oninput: (/** @type {Event} */ e) => { filter = /** @type {HTMLInputElement} */ (e.target).value.trim().toLowerCase(); render(); } })
    : null;
  const table = el('table', { class: 'data', dataset: { table: spec.name } }, el('thead', {}, el('tr', {}, headCells)), tbody);
  const root = el('div', { class: 'table-wrap' }, filterInput || spec.filterText ? el('div', { class: 'table-tools' }, filterInput, count) : null, table);

  function render() {
    const column = spec.columns.find((c) => c.key === sortKey) ?? spec.columns[0];
    for (const th of headCells) {
      const active = th.dataset.key === sortKey;
      th.setAttribute('aria-sort', active ? (descending ? 'descending' : 'ascending') : 'none');
    }
    let visible = filter && spec.filterText ? rows.filter((r) => /** @type {(row: T) => string} */ (spec.filterText)(r).toLowerCase().includes(filter)) : rows.slice();
    if (column) {
      visible.sort((a, b) => compare(column.sortValue(a), column.sortValue(b)) * (descending ? -1 : 1));
    }
    setText(count, filter ? `${visible.length} of ${rows.length}` : `${rows.length}`);
    if (visible.length === 0) {
      tbody.replaceChildren(el('tr', {}, el('td', { colspan: String(spec.columns.length), class: 'muted' }, rows.length === 0 ? spec.empty : 'Nothing matches the filter.')));
      return;
    }
    tbody.replaceChildren(...visible.map((row) => el('tr', { dataset: spec.rowKey ? { row: spec.rowKey(row) } : {} },
      spec.columns.map((c) => el('td', { class: c.numeric ? 'num' : undefined, dataset: { col: c.key } }, c.render(row))))));
  }

  return {
    root,
    /** @param {T[]} next */
    setRows(next) { rows = next; render(); },
  };
}

/** Nulls sort last in either direction's "worst" end: treated as -Infinity / ''. */
function compare(/** @type {unknown} */ a, /** @type {unknown} */ b) {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b));
}
