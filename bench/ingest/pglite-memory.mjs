#!/usr/bin/env node
// bench/ingest/pglite-memory — does the embedded (PGlite) receiver's memory grow with its data, or
// flatten? PGlite is PostgreSQL compiled to WASM: its memory is one WebAssembly.Memory that grows
// and never shrinks, so whatever PostgreSQL touches once (shared_buffers, work_mem, a big query
// message) stays resident for the life of the process.
//
// Run:   npm run build && node bench/ingest/pglite-memory.mjs
//        BENCH_DURATION_S=600 BENCH_CONNECTIONS=8 node bench/ingest/pglite-memory.mjs
//        BENCH_RECEIVER_ARGS=--cpu-prof node bench/ingest/pglite-memory.mjs   (node options of the receiver)
//        BENCH_ROUNDS=2 BENCH_BUILDS=before=/tmp/base/collector-receiver/dist/main.js,after=collector-receiver/dist/main.js \
//          node bench/ingest/pglite-memory.mjs                                (A/B of two builds, alternating)
//
// Each run: a receiver (collector-receiver/dist/main.js, or each of BENCH_BUILDS in turn, alternating
// for BENCH_ROUNDS rounds) on a fresh LATTICE_DATA_DIR, fed by a
// closed loop of BENCH_CONNECTIONS keep-alive connections sending distinct 512-span protobuf exports
// (exports.mjs) for BENCH_DURATION_S (default 240 s). Every BENCH_EVERY_S (20 s) it prints spans
// acknowledged, the data directory's size on disk and the receiver's RSS (/proc, sampled every
// 200 ms: current and peak so far). The verdict: RSS from the first checkpoint on, its range and
// its least-squares slope against spans stored (MB per million spans): ~0 = bounded. The
// peak while starting (from spawn until it listens) is shown apart: on an empty data directory
// PGlite runs initdb in a second WASM instance whose memory is garbage once it is done, resident
// until V8's next full GC (a bare PGlite.create on an empty directory: 715–815 MB RSS).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildTraceTemplates, SPANS_PER_EXPORT, traceSend } from './exports.mjs';
import { RECEIVER_ENV, rssMb } from '../lib/receiver-process.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 240);
const EVERY_S = Number(process.env.BENCH_EVERY_S ?? 20);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const RECEIVER_ARGS = (process.env.BENCH_RECEIVER_ARGS ?? '').split(' ').filter(Boolean);
// BENCH_BUILDS=name=path/to/main.js,name2=path2/main.js: receivers to compare, alternating per round.
const builds = process.env.BENCH_BUILDS
  ? process.env.BENCH_BUILDS.split(',').map((spec) => { const [name, main] = spec.split('='); return { name, main: path.resolve(main) }; })
  : [{ name: 'this build', main: path.join(ROOT, 'collector-receiver/dist/main.js') }];

const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const dirMb = (dir) => Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split('\t')[0]) / 1024;

async function startReceiver(main, dataDir) {
  const child = spawn(process.execPath, [...RECEIVER_ARGS, main], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, HOST: '127.0.0.1', PORT: '0', LATTICE_LOG_LEVEL: 'warn', ...RECEIVER_ENV, LATTICE_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  const exited = new Promise((r) => child.once('exit', r));
  // From spawn: a fresh data directory's initdb happens before the receiver listens.
  const startup = [];
  const startupSampler = setInterval(() => { const mb = rssMb(child.pid); if (mb !== null) startup.push(mb); }, 200);
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => { out += d; const m = /Lattice receiver on (http:\/\/[^\s·]+)/.exec(out); if (m) resolve(m[1]); });
    child.once('exit', (code) => reject(new Error(`receiver exited ${code}: ${stderr}`)));
  });
  child.stdout.resume();
  clearInterval(startupSampler);
  return { url, pid: child.pid, startupPeak: Math.max(0, ...startup), async stop() { child.kill('SIGTERM'); await exited; } };
}

const templates = buildTraceTemplates('protobuf', 16);
let tag = 1;

async function run(build, round) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lattice-pglite-memory-'));
  const dataDir = path.join(dir, 'data');
  const receiver = await startReceiver(build.main, dataDir);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const target = new URL('/v1/traces', receiver.url);
  const statuses = {};
  let acked = 0;
  let stop = false;
  const send = () => new Promise((resolve) => {
    const body = traceSend(templates[tag % templates.length], tag++ & 0xffffffff);
    const req = http.request(target, { method: 'POST', agent, headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => { statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1; if (res.statusCode === 200) acked++; resolve(); });
    });
    req.on('error', () => { statuses.error = (statuses.error ?? 0) + 1; resolve(); });
    req.end(body);
  });
  const samples = [];
  const t0 = Date.now();
  const sampler = setInterval(() => { const mb = rssMb(receiver.pid); if (mb !== null) samples.push({ s: (Date.now() - t0) / 1000, mb, spans: acked * SPANS_PER_EXPORT }); }, 200);
  const workers = Array.from({ length: CONNECTIONS }, async () => { while (!stop) await send(); });
  const rows = [];
  console.log(`\n${build.name}, round ${round} (${build.main}), load average ${loadavg()}; peak RSS while starting (initdb of the empty data dir, migrations) ${receiver.startupPeak.toFixed(0)} MB`);
  console.log('| s | spans acknowledged | data dir MB | RSS MB | peak RSS MB so far |');
  console.log('| ---: | ---: | ---: | ---: | ---: |');
  for (let s = EVERY_S; s <= DURATION_S; s += EVERY_S) {
    await new Promise((r) => setTimeout(r, t0 + s * 1000 - Date.now()));
    const row = { s, spans: acked * SPANS_PER_EXPORT, dirMb: dirMb(dataDir), rss: rssMb(receiver.pid), peak: Math.max(...samples.map((x) => x.mb)) };
    rows.push(row);
    console.log(`| ${s} | ${row.spans.toLocaleString('en-US')} | ${row.dirMb.toFixed(0)} | ${row.rss?.toFixed(0)} | ${row.peak.toFixed(0)} |`);
  }
  stop = true;
  await Promise.all(workers);
  clearInterval(sampler);
  agent.destroy();
  await receiver.stop();
  rmSync(dir, { recursive: true, force: true });
  // RSS against data from the first checkpoint on (the empty directory's initdb garbage, if a full
  // GC has not freed it yet, is in the first interval): least-squares slope, MB per million spans.
  const steady = samples.filter((x) => x.s >= EVERY_S);
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const mx = mean(steady.map((x) => x.spans));
  const my = mean(steady.map((x) => x.mb));
  const slope = steady.reduce((a, x) => a + (x.spans - mx) * (x.mb - my), 0) / steady.reduce((a, x) => a + (x.spans - mx) ** 2, 0) * 1e6;
  const result = {
    build: build.name, round, startupPeak: receiver.startupPeak, peakFirstInterval: Math.max(...samples.filter((x) => x.s < EVERY_S).map((x) => x.mb)),
    steadyMin: Math.min(...steady.map((x) => x.mb)), steadyMax: Math.max(...steady.map((x) => x.mb)), slope,
    spans: acked * SPANS_PER_EXPORT, dataDirMb: rows.at(-1).dirMb, statuses, load: loadavg(),
  };
  console.log(`answers: ${Object.entries(statuses).map(([k, v]) => `${k}×${v}`).join(' ')}; RSS from ${EVERY_S} s on ${result.steadyMin.toFixed(0)}–${result.steadyMax.toFixed(0)} MB, ` +
    `${slope.toFixed(1)} MB per million spans stored; load average ${result.load}`);
  return result;
}

console.log(`bench/ingest/pglite-memory: ${CONNECTIONS} connections, ${DURATION_S} s per run, ${ROUNDS} round(s), ${os.cpus().length} cores, Node ${process.version}, load average ${loadavg()}`);
const results = [];
for (let round = 1; round <= ROUNDS; round++) for (const build of builds) results.push(await run(build, round));
console.log(`\n| build | round | peak RSS MB, starting | peak RSS MB, first ${EVERY_S} s of load | RSS MB from ${EVERY_S} s on (min–max) | RSS growth, MB per M spans stored | spans stored | data dir MB |`);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of results) {
  console.log(`| ${r.build} | ${r.round} | ${r.startupPeak.toFixed(0)} | ${r.peakFirstInterval.toFixed(0)} | ${r.steadyMin.toFixed(0)}–${r.steadyMax.toFixed(0)} | ${r.slope.toFixed(1)} | ` +
    `${r.spans.toLocaleString('en-US')} | ${r.dataDirMb.toFixed(0)} |`);
}
