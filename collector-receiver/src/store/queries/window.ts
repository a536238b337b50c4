/**
 * Window reads over the histogram rollups. Every window query reads the coarsest table that
 * answers it exactly and stitches the fresh edge: the SQL function `lattice_rollups(service_ids,
 * from, to)` (migration 002) returns the rollup rows of [from, to) with the columns of
 * service_metrics_1m (`minute` = period start) plus `grain_seconds`, reading whole rolled-up hours
 * from service_metrics_1h, whole rolled-up 5-minute periods from service_metrics_5m and the edges
 * (and anything not rolled up yet) from service_metrics_1m. Each minute comes from exactly one
 * table, so sums, min/max and bucket counts merged over the result equal those of the 1m rows.
 *
 *   const p = new SqlParams();
 *   `SELECT r.route, sum(r.count) FROM ${rollupWindowSql(p.add(ids, 'bigint[]'),
 *      p.add(fromMs, 'float8'), p.add(toMs, 'float8'))} r GROUP BY r.route`
 *
 * A row counts when its period start lies in [from, to): minutes are whole, so pass a
 * minute-aligned `from` (floor) to count a partly covered first minute.
 */

/**
 * SQL text of the stitched rollup window, for a FROM clause. Arguments are SQL expressions —
 * normally `$n` placeholders: service ids as bigint[] (NULL = every service), from/to either as
 * epoch milliseconds (default, the receiver's usual form) or timestamptz (`{ epochMs: false }`).
 */
export function rollupWindowSql(serviceIds: string, from: string, to: string, options: { epochMs?: boolean } = {}): string {
  const ts = (x: string) => (options.epochMs === false ? `(${x})::timestamptz` : `to_timestamp((${x})::float8 / 1000)`);
  return `lattice_rollups((${serviceIds})::bigint[], ${ts(from)}, ${ts(to)})`;
}
