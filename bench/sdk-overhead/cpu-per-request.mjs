#!/usr/bin/env node
// bench/sdk-overhead/cpu-per-request — the load-independent companion of run.mjs: CPU time of the
// app process per request over a fixed request count, for deciding whether an SDK change pays on
// a shared machine where req/s swings with other people's work.
//
// Run:   node bench/sdk-overhead/cpu-per-request.mjs                       (after npx tsc -b)
//        CPU_VARIANTS=plain,lattice,lattice-sampled CPU_ROUNDS=5 CPU_REQUESTS=20000 node …
//        CPU_PRELOAD_B=/path/to/other/register.js   adds lattice-b / lattice-b-sampled rows: a
//                                                   second SDK build (e.g. a copy of the old dist)
//                                                   measured in the same alternating rounds; a
//                                                   copy outside the repository resolves no
//                                                   packages: give it a node_modules link, e.g.
//                                                   cp -r sdk/dist /tmp/b/dist &&
//                                                   ln -s "$PWD/node_modules" /tmp/b/node_modules
//        CPU_EXTRA=als=/tmp/als-only.js               adds rows for experiment preloads (see below)
//        CPU_PROF=1                                  also writes a .cpuprofile per app run into
//                                                   bench/results/cpu-prof/
//
// Each round starts the app (app.cjs) fresh per variant, sends CPU_WARMUP requests, then exactly
// CPU_REQUESTS requests with autocannon (CPU_CONNECTIONS connections), and reads the app's
// utime+stime (all threads: export work counts) from /proc/<pid>/stat before and after. Rounds
// alternate the variants and the table shows medians. CPU time per request moves much less than
// req/s when other processes share the core, but it is not immune (caches, frequency): compare
// rows from the same run only. The app runs with --trace-gc, and the heap growth between
// collections in the measured window gives KB allocated per request: garbage the SDK adds, and
// a figure that does not move with machine load at all.

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { SAMPLED_10_PERCENT, sdkVariants } from './variants.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');

const int = (name, fallback) => {
  const value = Number(process.env[name] ?? fallback);
  return Number.isInteger(value) && value > 0 ? value : fallback;
};
const rounds = int('CPU_ROUNDS', 5);
const requests = int('CPU_REQUESTS', 20000);
const warmup = int('CPU_WARMUP', 3000);
const connections = int('CPU_CONNECTIONS', 20);
const profile = process.env.CPU_PROF === '1';
const profDir = path.join(repoRoot, 'bench', 'results', 'cpu-prof');
if (profile) mkdirSync(profDir, { recursive: true });

const registerA = path.join(repoRoot, 'sdk', 'dist', 'register.js');
const registerB = process.env.CPU_PRELOAD_B && path.resolve(process.env.CPU_PRELOAD_B);
const allVariants = [
  ...sdkVariants(registerA, registerB),
  // CPU_EXTRA='id=/path/preload.js,id2=/other.js': experiment preloads (an id ending in -sampled
  // runs with traces at 10 %), e.g. one that only wraps every request in AsyncLocalStorage.run.
  ...(process.env.CPU_EXTRA ?? '')
    .split(',')
    .filter(Boolean)
    .map((spec) => {
      const [id, preload] = spec.split('=');
      return { id, preload: path.resolve(preload), env: id.endsWith('-sampled') ? SAMPLED_10_PERCENT : {} };
    }),
];
const wanted = (process.env.CPU_VARIANTS ?? '').split(',').filter(Boolean);
const variants = allVariants.filter((v) => wanted.length === 0 || wanted.includes(v.id) || v.id === 'plain');

const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

// A sink that reads and acknowledges OTLP exports, in this process (its CPU is not the app's).
const sink = spawn(process.execPath, [path.join(here, 'sink.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
const sinkPort = await new Promise((resolve) => {
  sink.stdout.setEncoding('utf8');
  sink.stdout.once('data', (line) => resolve(JSON.parse(line).benchSinkPort));
});

function startApp(variant, round) {
  const env = { ...process.env, NODE_ENV: 'production', OTEL_SERVICE_NAME: 'bench-app', ...variant.env };
  env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${sinkPort}`;
  const args = ['--trace-gc'];
  if (profile) args.push('--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-name', `${variant.id}-r${round}.cpuprofile`);
  if (variant.preload) args.push('--require', variant.preload);
  args.push(path.join(here, 'app.cjs'));
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  child.gcLines = [];
  let buffered = '';
  return new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines) {
        if (line.includes('Scavenge') || line.includes('Mark-Compact')) {
          child.gcLines.push(line);
          continue;
        }
        try {
          const port = JSON.parse(line).benchAppPort;
          if (port) resolve({ child, port });
        } catch {
          // not ours
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`app exited (${code})`)));
  });
}

const send = (port, amount) =>
  autocannon({ url: `http://127.0.0.1:${port}/`, connections, amount, pipelining: 1 });

const results = Object.fromEntries(variants.map((v) => [v.id, []]));
const allocations = Object.fromEntries(variants.map((v) => [v.id, []]));

/**
 * MB allocated between the first and last of these --trace-gc lines ("Scavenge 4.4 (4.5) -> 3.8
 * (5.5) MB"): each collection's heap-before minus the previous one's heap-after. Deterministic
 * for a given build and request count (±2 %), unlike CPU time on a shared machine; 0.1 MB
 * resolution per line, so use thousands of requests.
 */
function allocatedMb(lines) {
  let total = 0;
  let previousAfter;
  for (const line of lines) {
    const m = /(?:Scavenge|Mark-Compact)[^\d]*([\d.]+) \([\d.]+\) -> ([\d.]+)/.exec(line);
    if (!m) continue;
    if (previousAfter !== undefined) total += Number(m[1]) - previousAfter;
    previousAfter = Number(m[2]);
  }
  return total;
}
const loads = [os.loadavg()[0]];
for (let r = 0; r < rounds; r++) {
  const order = variants.map((_, i) => variants[(i + r) % variants.length]);
  for (const variant of order) {
    const { child, port } = await startApp(variant, r + 1);
    await send(port, warmup);
    const before = cpuSeconds(child.pid);
    const gcBefore = child.gcLines.length;
    const result = await send(port, requests);
    const us = ((cpuSeconds(child.pid) - before) * 1e6) / result.requests.total;
    await new Promise((resolve) => setTimeout(resolve, 50)); // let the last GC lines arrive
    const kb = allocatedMb(child.gcLines.slice(gcBefore > 0 ? gcBefore - 1 : 0)) * 1024 / result.requests.total;
    results[variant.id].push(us);
    allocations[variant.id].push(kb);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    process.stdout.write(`round ${r + 1} ${variant.id.padEnd(18)} ${us.toFixed(0)} µs/req  ${kb.toFixed(1)} KB/req\n`);
  }
  loads.push(os.loadavg()[0]);
}
sink.kill('SIGTERM');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const plain = median(results.plain);
console.log(
  `\nCPU µs per request of the app process, ${requests} requests × ${rounds} alternating rounds, ${connections} connections; ` +
    `shared machine, load average ${loads.map((l) => l.toFixed(1)).join(' → ')}`,
);
console.log('variant             µs/req   min–max      plain÷variant (≈ req/s ratio when CPU-bound)   KB allocated/req');
for (const v of variants) {
  const xs = results[v.id];
  console.log(
    `${v.id.padEnd(18)} ${median(xs).toFixed(0).padStart(7)}   ${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`.padEnd(40) +
      `  ${(plain / median(xs)).toFixed(2)}`.padEnd(48) +
      `${median(allocations[v.id]).toFixed(1)}`,
  );
}
if (profile) console.log(`\nprofiles: ${path.relative(repoRoot, profDir)}`);
