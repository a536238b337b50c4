#!/usr/bin/env node
// bench/ingest/translate-cpu — receiver CPU of the metrics hot path outside the database: decode +
// toDurationPoints, and toRollupRows over flushes of 16 exports, in points per CPU-second of this
// process, for one or more builds in alternating rounds (median of 7). Exports as bench/ingest
// sends them (32 instances × 320 delta points, protobuf).
// Run:   npm run build && node bench/ingest/translate-cpu.mjs                 (this checkout)
//        node bench/ingest/translate-cpu.mjs /tmp/head /work/main              (roots holding collector-receiver/dist;
//          an older build: git archive <commit> collector-receiver tsconfig.base.json | tar -x -C /tmp/head, tsc -p there)
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildMetricTemplates, metricSend } from './exports.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const roots = process.argv.length > 2 ? process.argv.slice(2) : [ROOT];
const builds = [];
for (const root of roots) {
  builds.push({
    root,
    decode: (await import(`${root}/collector-receiver/dist/otlp/decode.js`)).decodeMetricsRequest,
    toDurationPoints: (await import(`${root}/collector-receiver/dist/translate/points.js`)).toDurationPoints,
    toRollupRows: (await import(`${root}/collector-receiver/dist/pipeline/rollup.js`)).toRollupRows,
  });
}
const templates = await buildMetricTemplates('protobuf', 32);
const bodies = Array.from({ length: 200 }, (_, i) => metricSend(templates[i % 32], i + 1));
const serviceIds = new Map(Array.from({ length: 8 }, (_, i) => [`svc-${i}`, String(i + 1)]));
const cpuSeconds = (from) => { const c = process.cpuUsage(from); return (c.user + c.system) / 1e6; };
const samples = builds.map(() => ({ translate: [], rollup: [] }));
for (let round = 0; round < 7; round++) {
  builds.forEach((b, k) => {
    let from = process.cpuUsage();
    let points = 0;
    const batches = [];
    for (const body of bodies) {
      const p = b.toDurationPoints(b.decode(body, 'protobuf'), Date.now()).points;
      points += p.length;
      batches.push(p);
    }
    samples[k].translate.push(points / cpuSeconds(from));
    from = process.cpuUsage();
    for (let i = 0; i < batches.length; i += 16) b.toRollupRows(batches.slice(i, i + 16).flat(), serviceIds);
    samples[k].rollup.push(points / cpuSeconds(from));
  });
}
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`bench/ingest/translate-cpu: 7 alternating rounds, median, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (shared machine: compare builds of one run)`);
console.log('| build | decode + toDurationPoints, points/CPU-s | toRollupRows, points/CPU-s |');
console.log('| --- | ---: | ---: |');
builds.forEach((b, k) => console.log(`| ${b.root} | ${Math.round(median(samples[k].translate)).toLocaleString('en-US')} | ${Math.round(median(samples[k].rollup)).toLocaleString('en-US')} |`));
