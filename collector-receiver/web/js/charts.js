// Time-series charts with uPlot (served from node_modules by the receiver at /vendor/uplot/).
import uPlot from '/vendor/uplot/uPlot.esm.js';

/**
 * @param {HTMLElement} container
 * @param {{ title: string, series: { label: string, stroke: string }[], format: (v: number) => string,
 *           axisFormat?: (v: number) => string, name: string }} spec
 */
export function createChart(container, spec) {
  const width = () => Math.max(260, container.clientWidth - 8);
  let sparse = true;
  const opts = {
    title: spec.title,
    width: width(),
    height: 170,
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (/** @type {any} */ _u, /** @type {number} */ min, /** @type {number} */ max) => [0, max > 0 ? max * 1.1 : 1] } },
    series: [
      {},
      ...spec.series.map((s) => ({
        label: s.label, stroke: s.stroke, width: 1.5, spanGaps: false,
        // Isolated minutes (a service that just started, sparse traffic) have no neighbour to draw a
        // line to: show points while the data is sparse.
        points: { show: () => sparse, size: 5, fill: s.stroke },
        value: (/** @type {any} */ _u, /** @type {number | null} */ v) => (v === null || v === undefined ? '—' : spec.format(v)),
      })),
    ],
    axes: [
      { stroke: '#8a93a6', grid: { stroke: '#2a3040' }, ticks: { stroke: '#2a3040' }, space: 80 },
      { stroke: '#8a93a6', grid: { stroke: '#2a3040' }, ticks: { stroke: '#2a3040' }, size: 70,
        values: (/** @type {any} */ _u, /** @type {number[]} */ vals) => vals.map((v) => (spec.axisFormat ?? spec.format)(v)) },
    ],
  };
  /** @type {(number | null)[][]} */
  const empty = [[], ...spec.series.map(() => [])];
  const plot = new uPlot(opts, /** @type {any} */ (empty), container);
  container.dataset.chart = spec.name;
  const onResize = () => plot.setSize({ width: width(), height: 170 });
  window.addEventListener('resize', onResize);
  return {
    /** @param {number[]} xs epoch seconds @param {(number | null)[][]} ys */
    setData(xs, ys) {
      const values = ys.reduce((n, series) => n + series.filter((v) => v !== null && v !== undefined).length, 0);
      sparse = values < 40 * ys.length;
      plot.setData(/** @type {any} */ ([xs, ...ys]));
      container.dataset.points = String(xs.length);
    },
    destroy() {
      window.removeEventListener('resize', onResize);
      plot.destroy();
    },
  };
}
