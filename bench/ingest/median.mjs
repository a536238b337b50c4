#!/usr/bin/env node
// bench/ingest/median — medians over several bench/ingest result files (one table row per scenario).
// Run:   node bench/ingest/median.mjs bench/results/ingest-*.json
import { readFileSync } from 'node:fs';

const runs = process.argv.slice(2).map((f) => JSON.parse(readFileSync(f, 'utf8')));
const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((a, b) => a - b);
  return v.length === 0 ? null : v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const fmt = (n, d = 0) => (n === null ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
const keys = [...new Set(runs.flatMap((r) => r.results.map((x) => `${x.scenario}|${x.database}|${x.encoding}|${x.signal}`)))];
console.log(`medians of ${runs.length} runs; load average at start: ${runs.map((r) => r.loadAverageAtStart.split(' ')[0]).join(', ')}`);
console.log('');
console.log('| scenario | database | encoding | committed/s | ratio to COPY | p50 ack ms | p99 ack ms | 429/503 share (with Retry-After) | receiver peak RSS MB |');
console.log('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const key of keys) {
  const rows = runs.flatMap((r) => r.results.filter((x) => `${x.scenario}|${x.database}|${x.encoding}|${x.signal}` === key));
  const [scenario, database, encoding, signal] = key.split('|');
  const m = (f) => median(rows.map(f));
  const refusedShare = rows[0].refused === undefined ? null : m((x) => x.refused / x.answered);
  const retryShare = rows[0].refused === undefined ? null : m((x) => (x.refused === 0 ? 1 : x.refusedWithRetryAfter / x.refused));
  console.log(`| ${scenario} | ${database} | ${encoding} | ${fmt(m((x) => x.perSecond))} ${signal === 'traces' ? 'spans/s' : 'points/s'} | ${fmt(m((x) => x.ratioToCopy), 2)} | ` +
    `${fmt(m((x) => x.p50), 1)} | ${fmt(m((x) => x.p99), 1)} | ${refusedShare === null ? '—' : `${fmt(refusedShare * 100)} % (${fmt(retryShare * 100)} %)`} | ${fmt(m((x) => x.peakRssMb))} |`);
}
