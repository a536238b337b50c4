#!/usr/bin/env node
// bench/sdk-overhead/loop-stalls — why is an instrumented app's p99 high? Runs the bench app
// (app.cjs) at a fixed offered rate, like run.mjs's fixed-rate phase, and records from inside the
// app what held its event loop:
//   - stall-probe.cjs: event-loop delay (monitorEventLoopDelay) and every GC pause (--trace-gc's
//     PerformanceObserver equivalent) in the measured window;
//   - node --cpu-prof (STALL_PROF_US µs sampling): cut to the same window, split into busy
//     stretches (runs of non-idle samples: the loop working without a break), each stretch's time
//     put in a category by its stacks — span export (BatchSpanProcessor → OTLP serialization and
//     send), metric export (reader → collect → serialization), GC, everything else (requests).
// The table shows, per variant (medians over alternating rounds): p50/p99 of the open-loop
// sender, loop delay, GC pauses, stretches ≥ 2 ms and ≥ 5 ms per second, and export time per
// second; below it, the longest stretches of the last round with what filled them.
//
// Run:   node bench/sdk-overhead/loop-stalls.mjs          (after npx tsc -b; ~1 min)
//        STALL_ROUNDS=3 STALL_DURATION=5 STALL_RATE=2500 node …
//        STALL_PRELOAD_B=/tmp/old-dist/register.js   adds lattice-b / lattice-b-sampled rows
//        STALL_EXTRA='[{"id":"s64","sampled":true,"env":{"OTEL_BSP_MAX_EXPORT_BATCH_SIZE":"64"}}]'
//                                                    adds rows: the SDK (or "preload") with env
//        STALL_VARIANTS=plain,lattice-sampled        only these (plain always runs)
// Rate: STALL_RATE, else half of plain's saturated req/s measured first (as run.mjs does).
// Pinned like run.mjs: app on CPU 0, this process and the sink on CPU 1 (taskset).
// The profiler itself costs CPU: read the p99 here for attribution and use run.mjs for the figure.
//
// Measured 2026-11-27 18:24 (1 round, 3 s at 3060 req/s, load average 4.5–5.1, so pauses are
// stretched by other work on the app's core): the longest busy stretches were mostly GC in every
// variant, plain included (scavenges: plain 22 × avg 7.6 ms, defaults 26 × 10.2 ms, 10 % 24 ×
// 10.1 ms; longest stretches 35 / 130 / 49 ms); span export took 22.9 ms/s (defaults) and
// 11.3 ms/s (10 %), metric export 5–7 ms/s, GC 68 / 98 / 103 ms/s. In-process, the OTLP protobuf
// serializer (otlp-transformer 0.223, hand-written writer) takes ~3 µs per server span: 0.4 ms
// for the 10 % variant's ~150-span batches, 1.5–3 ms for a full 512-span batch (defaults).

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { fixedRateLoad } from './fixed-rate-load.mjs';
import { SAMPLED_10_PERCENT, sdkVariants } from './variants.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');

const int = (name, fallback) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (Number.isInteger(value) && value > 0) return value;
  console.warn(`${name} should be a positive integer, instead got '${raw}'; using ${fallback}`);
  return fallback;
};
const rounds = int('STALL_ROUNDS', 3);
const durationS = int('STALL_DURATION', 5);
const warmupS = int('STALL_WARMUP', 2);
const connections = int('STALL_CONNECTIONS', 50);
const profUs = int('STALL_PROF_US', 250);
let rate = int('STALL_RATE', 0) || null;

const registerA = path.join(repoRoot, 'sdk', 'dist', 'register.js');
const registerB = process.env.STALL_PRELOAD_B && path.resolve(process.env.STALL_PRELOAD_B);
let extra = [];
try {
  extra = JSON.parse(process.env.STALL_EXTRA || '[]');
} catch (error) {
  console.warn(`STALL_EXTRA should be a JSON array, instead got '${process.env.STALL_EXTRA}' (${error.message}); ignoring it`);
}
const allVariants = [
  ...sdkVariants(registerA, registerB),
  ...extra.map((e) => ({
    id: e.id,
    preload: e.preload ? path.resolve(e.preload) : registerA,
    env: { ...(e.sampled ? SAMPLED_10_PERCENT : {}), ...(e.env ?? {}) },
  })),
];
const wanted = (process.env.STALL_VARIANTS ?? '').split(',').filter(Boolean);
const variants = allVariants.filter((v) => wanted.length === 0 || wanted.includes(v.id) || v.id === 'plain');

const taskset = (cpu, args) => ['taskset', ['-c', String(cpu), ...args]];
execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });

const sink = spawn(process.execPath, [path.join(here, 'sink.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
const sinkPort = await new Promise((resolve) => {
  sink.stdout.setEncoding('utf8');
  sink.stdout.once('data', (line) => resolve(JSON.parse(line).benchSinkPort));
});

const profDir = mkdtempSync(path.join(os.tmpdir(), 'loop-stalls-'));

function startApp(variant, name) {
  const env = { ...process.env, NODE_ENV: 'production', OTEL_SERVICE_NAME: 'bench-app', ...variant.env };
  for (const key of Object.keys(env)) if (key.startsWith('STALL_')) delete env[key];
  env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${sinkPort}`;
  const args = ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-name', name, '--cpu-prof-interval', String(profUs)];
  args.push('--require', path.join(here, 'stall-probe.cjs'));
  if (variant.preload) args.push('--require', variant.preload);
  args.push(path.join(here, 'app.cjs'));
  const [command, rest] = taskset(0, [process.execPath, ...args]);
  const child = spawn(command, rest, { env, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const messages = [];
  const waiters = [];
  child.on('message', (m) => {
    const w = waiters.findIndex((x) => x.kind === m.probe);
    if (w >= 0) waiters.splice(w, 1)[0].resolve(m);
    else messages.push(m);
  });
  const ask = (kind) =>
    new Promise((resolve) => {
      waiters.push({ kind, resolve });
      child.send(kind);
    });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines) {
        try {
          const port = JSON.parse(line).benchAppPort;
          if (port) resolve({ child, port, ask, exited });
        } catch {
          // not ours
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`app exited (${code})`)));
  });
}

// ---------------------------------------------------------------------------------------------
// The profile: busy stretches and what filled them.

const CATEGORIES = ['span export', 'metric export', 'gc', 'other'];

function categoryOf(stack) {
  // stack: frames from leaf to root as "name url"
  if (stack[0].startsWith('(garbage collector)')) return 'gc';
  for (const frame of stack) {
    if (/BatchSpanProcessor|exporter-trace-otlp|_flushOneBatch/.test(frame)) return 'span export';
    if (/PeriodicExportingMetricReader|exporter-metrics-otlp|sdk-metrics\/build\/src\/export|duration-histogram/.test(frame)) return 'metric export';
  }
  return 'other';
}

function analyseProfile(file, fromUs, toUs) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stackCache = new Map();
  const stackOf = (id) => {
    let s = stackCache.get(id);
    if (s) return s;
    s = [];
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur).callFrame;
      s.push(`${f.functionName || '(anonymous)'} ${f.url.replace(/.*node_modules\//, '').replace(/.*\/sdk\/dist\//, 'sdk/')}:${f.lineNumber + 1}`);
    }
    stackCache.set(id, s);
    return s;
  };
  const stretches = [];
  let current = null;
  let t = profile.startTime;
  const perCategoryUs = Object.fromEntries(CATEGORIES.map((c) => [c, 0]));
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    const dt = profile.timeDeltas[i + 1] ?? profUs; // the time this sample stands for
    if (t < fromUs || t > toUs) continue;
    const node = byId.get(profile.samples[i]);
    const name = node.callFrame.functionName;
    if (name === '(idle)') {
      if (current) stretches.push(current);
      current = null;
      continue;
    }
    const stack = stackOf(node.id);
    const category = categoryOf(stack);
    perCategoryUs[category] += dt;
    if (!current) current = { startUs: t, us: 0, byCategory: {}, leaves: new Map() };
    current.us += dt;
    current.byCategory[category] = (current.byCategory[category] ?? 0) + dt;
    // The outermost frame of ours or a library (below the event-loop glue) names the work.
    const leaf = stack[0];
    current.leaves.set(leaf, (current.leaves.get(leaf) ?? 0) + dt);
  }
  if (current) stretches.push(current);
  const windowS = (toUs - fromUs) / 1e6;
  const longest = [...stretches].sort((a, b) => b.us - a.us).slice(0, 6);
  return {
    stretchesOver2msPerS: stretches.filter((s) => s.us >= 2000).length / windowS,
    stretchesOver5msPerS: stretches.filter((s) => s.us >= 5000).length / windowS,
    longestMs: longest[0]?.us / 1000 ?? 0,
    msPerS: Object.fromEntries(CATEGORIES.map((c) => [c, perCategoryUs[c] / 1000 / windowS])),
    longest: longest.map((s) => ({
      ms: s.us / 1000,
      byCategoryMs: Object.fromEntries(Object.entries(s.byCategory).map(([k, v]) => [k, v / 1000])),
      topLeaves: [...s.leaves].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, v]) => `${(v / 1000).toFixed(1)} ms ${k}`),
    })),
  };
}

// ---------------------------------------------------------------------------------------------

async function runOne(variant, round) {
  const name = `${variant.id}-r${round}.cpuprofile`;
  const app = await startApp(variant, name);
  await autocannon({ url: `http://127.0.0.1:${app.port}/`, connections, duration: warmupS });
  let saturatedRps;
  if (rate === null) {
    const result = await autocannon({ url: `http://127.0.0.1:${app.port}/`, connections, duration: 3 });
    saturatedRps = result.requests.total / result.duration;
    rate = Math.max(1, Math.round(saturatedRps / 2));
    console.log(`plain saturated: ${saturatedRps.toFixed(0)} req/s → offered rate ${rate} req/s`);
  }
  await sleep(200);
  const reset = await app.ask('reset');
  const fixed = await fixedRateLoad(app.port, rate, durationS, connections);
  const report = await app.ask('report');
  app.child.kill('SIGTERM');
  await app.exited;
  const profile = analyseProfile(path.join(profDir, name), reset.hrUs, report.hrUs);
  rmSync(path.join(profDir, name), { force: true });
  const windowS = (report.hrUs - reset.hrUs) / 1e6;
  const gcPausesOver2ms = report.gcPauses.filter((p) => p.ms >= 2).length / windowS;
  return { fixed, probe: report, profile, gcPausesOver2msPerS: gcPausesOver2ms, windowS };
}

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const results = Object.fromEntries(variants.map((v) => [v.id, []]));
const loads = [os.loadavg()[0]];
console.log(
  `loop-stalls: ${variants.map((v) => v.id).join(', ')} × ${rounds} alternating rounds, ${durationS} s at a fixed rate, ` +
    `profile every ${profUs} µs; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
);
for (let r = 0; r < rounds; r++) {
  const order = r === 0 ? variants : variants.map((_, i) => variants[(i + r) % variants.length]);
  for (const variant of order) {
    const result = await runOne(variant, r + 1);
    results[variant.id].push(result);
    const p = result.profile;
    console.log(
      `round ${r + 1} ${variant.id.padEnd(18)} p99 ${result.fixed.p99Ms.toFixed(2)} ms  loop delay p99 ${result.probe.loopDelayMs.p99.toFixed(2)} max ${result.probe.loopDelayMs.max.toFixed(1)} ms  ` +
        `stretches ≥2 ms ${p.stretchesOver2msPerS.toFixed(1)}/s ≥5 ms ${p.stretchesOver5msPerS.toFixed(1)}/s  longest ${p.longestMs.toFixed(1)} ms`,
    );
  }
  loads.push(os.loadavg()[0]);
}
sink.kill('SIGTERM');
rmSync(profDir, { recursive: true, force: true });

const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
console.log(
  `\nOffered ${rate} req/s for ${durationS} s, ${rounds} rounds, medians; load average ${loads.map((l) => l.toFixed(1)).join(' → ')}`,
);
const header = [
  'variant'.padEnd(18),
  'p50 ms',
  'p99 ms',
  'loop p99',
  'loop max',
  'GC ≥2ms/s',
  'GC max ms',
  'busy≥2ms/s',
  '≥5ms/s',
  'longest',
  'span exp ms/s',
  'metric exp ms/s',
  'gc ms/s',
];
console.log(header.join('  '));
for (const v of variants) {
  const rs = results[v.id];
  const gcMax = rs.map((r) => Math.max(0, ...Object.values(r.probe.gc).map((k) => k.maxMs)));
  const cells = [
    v.id.padEnd(18),
    f(median(rs.map((r) => r.fixed.p50Ms)), 2),
    f(median(rs.map((r) => r.fixed.p99Ms)), 2),
    f(median(rs.map((r) => r.probe.loopDelayMs.p99)), 2),
    f(median(rs.map((r) => r.probe.loopDelayMs.max))),
    f(median(rs.map((r) => r.gcPausesOver2msPerS))),
    f(median(gcMax)),
    f(median(rs.map((r) => r.profile.stretchesOver2msPerS))),
    f(median(rs.map((r) => r.profile.stretchesOver5msPerS))),
    f(median(rs.map((r) => r.profile.longestMs))),
    f(median(rs.map((r) => r.profile.msPerS['span export']))),
    f(median(rs.map((r) => r.profile.msPerS['metric export']))),
    f(median(rs.map((r) => r.profile.msPerS.gc))),
  ];
  console.log(cells.map((c, i) => (i === 0 ? c : c.padStart(header[i].length))).join('  '));
}
console.log('\nGC pauses by kind (last round): count, total ms, max ms');
for (const v of variants) {
  const gc = results[v.id].at(-1).probe.gc;
  console.log(
    `  ${v.id.padEnd(18)} ${Object.entries(gc)
      .map(([k, s]) => `${k} ${s.count}× ${s.totalMs.toFixed(1)} ms max ${s.maxMs.toFixed(1)}`)
      .join('; ')}`,
  );
}
console.log('\nLongest busy stretches of the last round (what filled them):');
for (const v of variants) {
  console.log(`  ${v.id}`);
  for (const s of results[v.id].at(-1).profile.longest) {
    const cats = Object.entries(s.byCategoryMs)
      .map(([k, ms]) => `${k} ${ms.toFixed(1)}`)
      .join(', ');
    console.log(`    ${s.ms.toFixed(1).padStart(5)} ms  [${cats}]  top: ${s.topLeaves.join(' | ')}`);
  }
}
