#!/usr/bin/env node
// bench/sdk-overhead — what does instrumenting a Node.js service cost, with Lattice and with the
// alternatives users would pick? One run, same machine, baseline included.
//
// Run:   npm run bench:sdk            (from the repo root; build the SDK first: npx tsc -b)
//        BENCH_ROUNDS=5 BENCH_DURATION=10 npm run bench:sdk
//
// The app is a hello-world Express 5 service (app.cjs, GET / → "Hello World!"), started fresh for
// every round under each variant:
//   plain            no instrumentation — the baseline
//   lattice          node --require sdk/dist/register.js (defaults: every request traced and stored)
//   lattice-sampled  same, OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.1
//                    (metrics still count every request)
//   prom             express-prom-bundle (prom-client) middleware — what Prometheus users pick
//   otel-auto        node --require @opentelemetry/auto-instrumentations-node/register, pinned to
//                    0.81.2 (the last release on the repo's 0.223.x/2.12.x OTel lines that runs on
//                    Node 20; 0.82+ needs Node 22). Traces and metrics go over OTLP like Lattice's;
//                    logs exporter off; resource detectors limited to env,host,os,process so cloud
//                    detectors do not probe metadata endpoints (loopback only).
//   dd-trace         node --require dd-trace/init, dd-trace 5.x (6.x needs Node 22); telemetry,
//                    remote config and startup logs off so it only talks to the sink.
// Instrumented variants export to sink.mjs, a separate process on loopback that reads every body
// and answers 200 (OTLP/HTTP for Lattice and OTel, the agent API for dd-trace). The table's
// "exported" column shows what reached it, so a variant that silently exports nothing is visible.
//
// Each round: start the app pinned to one core (taskset -c BENCH_APP_CPU, default 0), warm up
// with autocannon for BENCH_WARMUP s, then
//   1. saturate it for BENCH_DURATION s with BENCH_CONNECTIONS connections (closed loop, no rate);
//   2. offer a fixed rate for BENCH_FIXED_DURATION s: half of plain's round-1 req/s unless
//      BENCH_FIXED_RATE is set (round 1 always starts with plain). Under saturation latency is
//      about connections ÷ throughput, so a saturated p99 mostly repeats the req/s loss; the
//      fixed-rate p99 compares every variant at the same offered load, which is what the issue's
//      p99 goal is about. An open-loop sender in this file (not autocannon's bursty overallRate)
//      times each request from its scheduled send, so queueing behind a stall counts.
// This runner (autocannon) and the sink are pinned to the other core (BENCH_LOADGEN_CPU,
// default 1). Rounds alternate between variants, rotating the start each round, so drift on a
// shared machine hits every variant alike.
//   req/s       responses in the saturated window / its duration; median over rounds, min–max spread
//   p50, p99    autocannon latency in the saturated window, median over rounds
//   p99 @N/s    p99 in the fixed-rate window (* = the variant could not keep up with N req/s)
//   CPU µs/req  app process utime+stime delta over the saturated window (/proc/<pid>/stat, all
//               threads, so the SDK's export work counts) / responses. Other processes on the
//               app's core change req/s a lot and CPU/request much less, so the goals also show
//               plain's CPU µs/req ÷ the variant's as a req/s-ratio estimate for busy machines.
//   RSS MB      app peak resident set (VmHWM from /proc/<pid>/status) at the end of the round
// Ratios are medians over plain's medians. The Lattice rows are checked against the goals:
// defaults ≥ 0.60 × plain req/s, 10 % sampled ≥ 0.80 ×, p99 ≤ 1.3 × plain (fixed-rate p99),
// RSS ≤ plain + 40 MB. A second table shows whether the app or the load generator was the
// bottleneck. Raw results (every round, versions, load average) go to
// bench/results/sdk-overhead-<time>.json.
//
// Env: BENCH_ROUNDS (3) BENCH_DURATION (5) BENCH_WARMUP (2) BENCH_CONNECTIONS (50)
//      BENCH_FIXED_DURATION (3; 0 skips the fixed-rate phase) BENCH_FIXED_RATE (auto)
//      BENCH_VARIANTS (comma list of ids, default all; plain always runs) BENCH_PIN (1; 0 unpinned)
//      BENCH_APP_CPU (0) BENCH_LOADGEN_CPU (1)
//      BENCH_PRELOAD_B (unset; a path to another build's register.js adds lattice-b and
//      lattice-b-sampled rows: before/after in the same alternating rounds. E.g. before a change:
//      cp -r sdk/dist bench/results/sdk-base-dist, plus a package.json {"type":"commonjs"} in it,
//      since bench/ is an ES-module package)
//      BENCH_NICE (0; e.g. -10 as root gives the app and load generator priority over other work
//      on a shared machine — the others then run slower while the bench runs)
// Default run: 6 variants × 3 rounds × ~12 s ≈ 3.5 minutes. Needs Linux (/proc) and taskset.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { fixedRateLoad } from './fixed-rate-load.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const benchRoot = path.resolve(here, '..');
const repoRoot = path.resolve(benchRoot, '..');
const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------------------------
// Config: bad values warn and fall back, never throw.

function intFromEnv(name, fallback, min) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    console.warn(`${name} should be an integer ≥ ${min}, instead got '${raw}'; using ${fallback}`);
    return fallback;
  }
  return value;
}

const config = {
  rounds: intFromEnv('BENCH_ROUNDS', 3, 1),
  durationS: intFromEnv('BENCH_DURATION', 5, 1),
  warmupS: intFromEnv('BENCH_WARMUP', 2, 0),
  connections: intFromEnv('BENCH_CONNECTIONS', 50, 1),
  appCpu: intFromEnv('BENCH_APP_CPU', 0, 0),
  loadgenCpu: intFromEnv('BENCH_LOADGEN_CPU', 1, 0),
  fixedDurationS: intFromEnv('BENCH_FIXED_DURATION', 3, 0),
  fixedRate: intFromEnv('BENCH_FIXED_RATE', 0, 0),
  pin: process.env.BENCH_PIN !== '0',
  nice: (() => {
    const raw = process.env.BENCH_NICE;
    if (raw === undefined || raw === '') return 0;
    const value = Number(raw);
    if (Number.isInteger(value) && value >= -20 && value <= 19) return value;
    console.warn(`BENCH_NICE should be an integer from -20 to 19, instead got '${raw}'; using 0`);
    return 0;
  })(),
  variantFilter: (process.env.BENCH_VARIANTS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
};

const APP_READY_TIMEOUT_MS = 30_000;
const APP_EXIT_GRACE_MS = 5_000;
const STDERR_TAIL_CHARS = 4_000;

// ---------------------------------------------------------------------------------------------
// Variants.

function resolveOrReason(specifier) {
  try {
    return { path: require.resolve(specifier) };
  } catch (error) {
    return { reason: `cannot resolve ${specifier} (${error.code ?? error.message}); run npm install` };
  }
}

/** A dependency's version, found from its entry point (some `exports` maps hide package.json). */
function packageVersion(name) {
  try {
    let dir = path.dirname(require.resolve(name));
    while (dir !== path.dirname(dir)) {
      const file = path.join(dir, 'package.json');
      if (existsSync(file)) {
        const manifest = JSON.parse(readFileSync(file, 'utf8'));
        if (manifest.name === name) return manifest.version;
      }
      dir = path.dirname(dir);
    }
  } catch {
    // not installed
  }
  return undefined;
}

function newestMtimeMs(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtimeMs(full) : statSync(full).mtimeMs);
  }
  return newest;
}

const latticeRegister = path.join(repoRoot, 'sdk', 'dist', 'register.js');
const latticeSrc = path.join(repoRoot, 'sdk', 'src');
const latticePreload = existsSync(latticeRegister)
  ? { path: latticeRegister }
  : { reason: 'sdk/dist/register.js not found; build the SDK first (npx tsc -b)' };

const latticePreloadB = (() => {
  const raw = process.env.BENCH_PRELOAD_B;
  if (raw === undefined || raw === '') return undefined;
  const file = path.resolve(raw);
  return existsSync(file) ? { path: file } : { reason: `BENCH_PRELOAD_B: ${file} not found` };
})();

const baseEnv = { NODE_ENV: 'production', OTEL_SERVICE_NAME: 'bench-app' };
const otlpEnv = (sinkUrl) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl });

/** @type {Array<{id: string, label: string, preload?: {path?: string, reason?: string}, env: (sinkUrl: string) => Record<string, string>, lattice?: {minRpsRatio: number}}>} */
const allVariants = [
  { id: 'plain', label: 'plain (no instrumentation)', env: () => ({}) },
  {
    id: 'lattice',
    label: '@lattice/otel-register, defaults',
    preload: latticePreload,
    env: otlpEnv,
    lattice: { minRpsRatio: 0.6 },
  },
  {
    id: 'lattice-sampled',
    label: '@lattice/otel-register, traces 10 %',
    preload: latticePreload,
    env: (sinkUrl) => ({
      ...otlpEnv(sinkUrl),
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
    }),
    lattice: { minRpsRatio: 0.8 },
  },
  // BENCH_PRELOAD_B: a second SDK build (e.g. a copy of the previous sdk/dist) measured in the
  // same alternating rounds, for before/after comparisons on a shared machine.
  ...(latticePreloadB
    ? [
        {
          id: 'lattice-b',
          label: '@lattice/otel-register B, defaults',
          preload: latticePreloadB,
          env: otlpEnv,
          lattice: { minRpsRatio: 0.6 },
        },
        {
          id: 'lattice-b-sampled',
          label: '@lattice/otel-register B, traces 10 %',
          preload: latticePreloadB,
          env: (sinkUrl) => ({
            ...otlpEnv(sinkUrl),
            OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
            OTEL_TRACES_SAMPLER_ARG: '0.1',
          }),
          lattice: { minRpsRatio: 0.8 },
        },
      ]
    : []),
  {
    id: 'prom',
    label: `express-prom-bundle ${packageVersion('express-prom-bundle') ?? '?'}`,
    env: () => ({ BENCH_PROM: '1' }),
    scrape: '/metrics',
    requires: resolveOrReason('express-prom-bundle'),
  },
  {
    id: 'otel-auto',
    label: `OTel auto-instrumentations ${packageVersion('@opentelemetry/auto-instrumentations-node') ?? '?'}`,
    preload: resolveOrReason('@opentelemetry/auto-instrumentations-node/register'),
    env: (sinkUrl) => ({
      ...otlpEnv(sinkUrl),
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process',
    }),
  },
  {
    id: 'dd-trace',
    label: `dd-trace ${packageVersion('dd-trace') ?? '?'}`,
    optional: true, // a failure here is reported as "not available", not as a broken bench
    preload: resolveOrReason('dd-trace/init'),
    env: (sinkUrl) => ({
      DD_TRACE_AGENT_URL: sinkUrl,
      DD_SERVICE: 'bench-app',
      DD_TRACE_STARTUP_LOGS: 'false',
      DD_INSTRUMENTATION_TELEMETRY_ENABLED: 'false',
      DD_REMOTE_CONFIGURATION_ENABLED: 'false',
      DD_RUNTIME_METRICS_ENABLED: 'false',
    }),
  },
];

const unknownIds = config.variantFilter.filter((id) => !allVariants.some((v) => v.id === id));
if (unknownIds.length > 0) {
  console.warn(
    `BENCH_VARIANTS should list ids from ${allVariants.map((v) => v.id).join(',')}, instead got '${unknownIds.join(',')}'; ignoring those`,
  );
}
const variants = allVariants.filter(
  (v) => v.id === 'plain' || config.variantFilter.length === 0 || config.variantFilter.includes(v.id),
);

// ---------------------------------------------------------------------------------------------
// Processes, pinning and /proc.

const children = new Set();

function killChildren() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
process.on('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killChildren();
    process.exit(130);
  });
}

function canPin() {
  if (!config.pin) return 'BENCH_PIN=0';
  if (os.availableParallelism() < 2) return `only ${os.availableParallelism()} CPU available`;
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'taskset not found (util-linux)';
  }
  return null;
}
const cpuCount = os.availableParallelism(); // before pinning this process to one CPU
const pinProblem = canPin();
const pinned = pinProblem === null;

function pinnedCommand(cpu, args) {
  const [command, rest] = pinned
    ? ['taskset', ['-c', String(cpu), process.execPath, ...args]]
    : [process.execPath, args];
  return config.nice !== 0 ? ['nice', ['-n', String(config.nice), command, ...rest]] : [command, rest];
}

const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system, all threads) of a process, from /proc/<pid>/stat. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name start at field 3 (state); utime is 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/**
 * Seconds one CPU spent on processes (user nice system) plus VM steal, from /proc/stat. irq and
 * softirq are left out: on loopback most of it is the network stack serving this app's traffic.
 */
function cpuBusySeconds(cpu) {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`cpu${cpu} `));
  if (!line) return NaN;
  const [user, nice, system, , , , , steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + steal) / clockTicks;
}

function memoryMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

/**
 * Spawns a node script and resolves with the value of `readyKey` from the first JSON line on
 * stdout that has it. Rejects with the stderr tail if the process exits or times out first.
 */
function startNode({ cpu, nodeArgs, env, readyKey, timeoutMs }) {
  const [command, args] = pinnedCommand(cpu, nodeArgs);
  const child = spawn(command, args, { cwd: here, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const output = { stderr: '', stdoutLines: [] };
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    output.stderr = (output.stderr + chunk).slice(-STDERR_TAIL_CHARS);
  });
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  const ready = new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => {
      reject(new Error(`not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      let newline;
      while ((newline = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        output.stdoutLines = [...output.stdoutLines, line].slice(-20);
        try {
          const parsed = JSON.parse(line);
          if (parsed && typeof parsed === 'object' && readyKey in parsed) {
            clearTimeout(timer);
            resolve(parsed[readyKey]);
          }
        } catch {
          // not ours: preloads may print to stdout
        }
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`exited before listening (code ${code}, signal ${signal})`));
    });
  });
  return { child, output, exited, ready };
}

/** SIGTERM, then SIGKILL after the grace period. Resolves with how it ended. */
async function stopProcess(handle) {
  const { child, exited } = handle;
  if (child.exitCode !== null || child.signalCode !== null) return { ...(await exited), graceful: false };
  const started = performance.now();
  child.kill('SIGTERM');
  const result = await Promise.race([exited, sleep(APP_EXIT_GRACE_MS).then(() => null)]);
  if (result !== null) return { ...result, graceful: true, exitMs: performance.now() - started };
  child.kill('SIGKILL');
  return { ...(await exited), graceful: false, exitMs: null };
}

// ---------------------------------------------------------------------------------------------
// Sink, load, one round.

/** The sink's counts since the last call (and clears them); {} if the sink cannot be reached. */
async function sinkStats(sinkUrl) {
  try {
    const response = await fetch(`${sinkUrl}/__stats?reset=1`);
    return await response.json();
  } catch (error) {
    console.warn(`telemetry sink did not answer (${error.message}); export counts for this round are missing`);
    return {};
  }
}

function summariseSink(stats) {
  let requests = 0;
  let bytes = 0;
  for (const entry of Object.values(stats)) {
    requests += entry.requests;
    bytes += entry.bytes;
  }
  return { requests, bytes, paths: stats };
}

function load(port, durationS) {
  return autocannon({
    url: `http://127.0.0.1:${port}/`,
    connections: config.connections,
    pipelining: 1,
    duration: durationS,
  });
}

/** Offered load for the fixed-rate phase: BENCH_FIXED_RATE, else half of plain's first round. */
let fixedRate = config.fixedRate > 0 ? config.fixedRate : null;

async function runRound(variant, sinkUrl) {
  const round = { variant: variant.id, ok: false };
  const preload = variant.preload?.path;
  const nodeArgs = [...(preload ? ['--require', preload] : []), path.join(here, 'app.cjs')];
  const env = { ...cleanEnv(), ...baseEnv, ...variant.env(sinkUrl) };
  await sinkStats(sinkUrl); // reset: count only this round's exports
  const startedAt = performance.now();
  const app = startNode({
    cpu: config.appCpu,
    nodeArgs,
    env,
    readyKey: 'benchAppPort',
    timeoutMs: APP_READY_TIMEOUT_MS,
  });
  let port;
  try {
    port = await app.ready;
    round.startupMs = performance.now() - startedAt;
    if (config.warmupS > 0) await load(port, config.warmupS);
    const pid = app.child.pid;
    const appCpu0 = cpuSeconds(pid);
    const appCoreBusy0 = cpuBusySeconds(config.appCpu);
    const genCpu0 = cpuSeconds(process.pid) + cpuSeconds(sink.child.pid);
    const t0 = performance.now();
    const result = await load(port, config.durationS);
    const elapsedS = (performance.now() - t0) / 1000;
    const appCpuS = cpuSeconds(pid) - appCpu0;
    const appCoreOthersS = cpuBusySeconds(config.appCpu) - appCoreBusy0 - appCpuS;
    const genCpuS = cpuSeconds(process.pid) + cpuSeconds(sink.child.pid) - genCpu0;
    const memory = memoryMb(pid);
    const responses = result.requests.total;
    Object.assign(round, {
      responses,
      ok2xx: result['2xx'],
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      durationS: result.duration,
      rps: responses / result.duration,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      maxMs: result.latency.max,
      cpuUsPerReq: responses > 0 ? (appCpuS * 1e6) / responses : null,
      appCoreBusy: appCpuS / elapsedS,
      appCoreOthers: pinned ? Math.max(0, appCoreOthersS / elapsedS) : null,
      loadgenCoreBusy: genCpuS / elapsedS,
      rssMb: memory.rssMb,
      peakRssMb: memory.hwmMb,
    });
    if (responses === 0) round.failure = 'no responses';
    else if (result['2xx'] < responses * 0.99) {
      round.failure = `only ${result['2xx']} of ${responses} responses were 2xx`;
    } else if (app.child.exitCode !== null || app.child.signalCode !== null) {
      round.failure = 'app exited during the measured window';
    } else round.ok = true;
    if (round.ok && variant.id === 'plain' && fixedRate === null) fixedRate = Math.max(1, Math.round(round.rps / 2));
    if (round.ok && config.fixedDurationS > 0 && fixedRate !== null) {
      round.fixed = await fixedRateLoad(port, fixedRate, config.fixedDurationS, config.connections);
    }
    if (round.ok && variant.scrape) {
      // What Prometheus would scrape: proves the middleware counted the load, and what a scrape weighs.
      const text = await (await fetch(`http://127.0.0.1:${port}${variant.scrape}`)).text();
      const counted = [...text.matchAll(/^http_request_duration_seconds_count\{[^}]*\} (\d+)/gm)].reduce(
        (sum, m) => sum + Number(m[1]),
        0,
      );
      round.scraped = { bytes: Buffer.byteLength(text), countedRequests: counted };
    }
    if (round.ok) {
      const peak = memoryMb(pid);
      round.peakRssMb = peak.hwmMb;
      round.rssMb = peak.rssMb;
    }
  } catch (error) {
    round.failure = error.message;
  }
  const stop = await stopProcess(app);
  round.exit = stop;
  // Give exporters that flush on shutdown a moment to land in the sink's counters.
  await sleep(100);
  round.exported = summariseSink(await sinkStats(sinkUrl));
  round.stderrTail = app.output.stderr;
  round.port = port;
  return round;
}

function cleanEnv() {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(OTEL_|DD_|NODE_OPTIONS$|BENCH_)/.test(key)) continue;
    env[key] = value;
  }
  return env;
}

// ---------------------------------------------------------------------------------------------
// Statistics and the table.

function median(values) {
  const sorted = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function summarise(variant, rounds) {
  const ok = rounds.filter((r) => r.ok);
  const failures = rounds.filter((r) => !r.ok);
  const rpsValues = ok.map((r) => r.rps);
  return {
    id: variant.id,
    label: variant.label,
    unavailable: variant.unavailable,
    roundsOk: ok.length,
    roundsFailed: failures.length,
    rps: median(rpsValues),
    rpsMin: rpsValues.length ? Math.min(...rpsValues) : null,
    rpsMax: rpsValues.length ? Math.max(...rpsValues) : null,
    p50Ms: median(ok.map((r) => r.p50Ms)),
    p99Ms: median(ok.map((r) => r.p99Ms)),
    cpuUsPerReq: median(ok.map((r) => r.cpuUsPerReq)),
    fixedOfferedRps: median(ok.map((r) => r.fixed?.offeredRps)),
    fixedRps: median(ok.map((r) => r.fixed?.rps)),
    fixedP99Ms: median(ok.map((r) => r.fixed?.p99Ms)),
    peakRssMb: median(ok.map((r) => r.peakRssMb)),
    appCoreBusy: median(ok.map((r) => r.appCoreBusy)),
    appCoreOthers: median(ok.map((r) => r.appCoreOthers)),
    loadgenCoreBusy: median(ok.map((r) => r.loadgenCoreBusy)),
    startupMs: median(ok.map((r) => r.startupMs)),
    exportedRequests: median(ok.map((r) => r.exported.requests)),
    exportedBytes: median(ok.map((r) => r.exported.bytes)),
    scrapedBytes: median(ok.map((r) => r.scraped?.bytes)),
    scrapedCounted: median(ok.map((r) => r.scraped?.countedRequests)),
    exportedBytesPerReq: median(ok.map((r) => (r.responses ? r.exported.bytes / r.responses : null))),
    gracefulExits: ok.filter((r) => r.exit.graceful).length,
    roundsWithStderr: ok.filter((r) => r.stderrTail.trim() !== '').length,
    stderrLines: [
      ...new Set(ok.flatMap((r) => r.stderrTail.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('(Use `node')))),
    ]
      .slice(0, 3)
      .map((l) => l.slice(0, 200)),
    lastFailure: failures.at(-1)?.failure,
    lastFailureStderr: failures.at(-1)?.stderrTail,
  };
}

const fmt = (value, digits = 0) => (value === null || value === undefined ? '–' : value.toFixed(digits));
const signed = (value, digits = 0) => {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  const text = value.toFixed(digits);
  return Number(text) === 0 ? (0).toFixed(digits) : Number(text) > 0 ? `+${text}` : text;
};
const ratio = (a, b) => (a === null || b === null || b === 0 ? null : a / b);

/** Rows are arrays of cells, or [label, {span: text}] for a row that only carries a message. */
function renderTable(headers, rows) {
  const cellRows = rows.filter((r) => typeof r[1] !== 'object');
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...(i === 0 ? rows : cellRows).map((r) => String(r[i]).length)),
  );
  const line = (cells) =>
    typeof cells[1] === 'object'
      ? `${String(cells[0]).padEnd(widths[0])}  ${cells[1].span}`
      : cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function formatBytes(bytes) {
  if (bytes === null) return '–';
  if (bytes < 1024) return `${bytes.toFixed(0)} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function report(summaries) {
  const plain = summaries.find((s) => s.id === 'plain');
  const headers = [
    'variant',
    'req/s',
    'min–max',
    '×plain',
    'p50 ms',
    'p99 ms',
    '×plain',
    `p99 @${fixedRate ?? '–'}/s`,
    '×plain',
    'CPU µs/req',
    '×plain',
    'RSS MB',
    'Δ MB',
    'exported',
    'rounds',
  ];
  const rows = summaries.map((s) => {
    if (s.unavailable) return [s.label, { span: `not available: ${s.unavailable}` }];
    if (s.roundsOk === 0) {
      const what = variants.find((v) => v.id === s.id)?.optional ? 'not available' : 'failed';
      return [s.label, { span: `${what}: ${oneLine(s.lastFailure)} (0/${s.roundsFailed} rounds; stderr below)` }];
    }
    const unsustained = s.fixedRps !== null && s.fixedOfferedRps !== null && s.fixedRps < 0.95 * s.fixedOfferedRps;
    const isPlain = s.id === 'plain';
    return [
      s.label,
      fmt(s.rps),
      `${fmt(s.rpsMin)}–${fmt(s.rpsMax)}`,
      isPlain ? '1.00' : fmt(ratio(s.rps, plain?.rps ?? null), 2),
      fmt(s.p50Ms, 1),
      fmt(s.p99Ms, 1),
      isPlain ? '1.00' : fmt(ratio(s.p99Ms, plain?.p99Ms ?? null), 2),
      `${unsustained ? '*' : ''}${fmt(s.fixedP99Ms, 1)}`,
      isPlain ? '1.00' : fmt(ratio(s.fixedP99Ms, plain?.fixedP99Ms ?? null), 2),
      fmt(s.cpuUsPerReq),
      isPlain ? '1.00' : fmt(ratio(s.cpuUsPerReq, plain?.cpuUsPerReq ?? null), 2),
      fmt(s.peakRssMb),
      isPlain ? '0' : plain?.peakRssMb != null ? signed(s.peakRssMb - plain.peakRssMb) : '–',
      isPlain
        ? '–'
        : s.scrapedBytes !== null
          ? `scrape ${formatBytes(s.scrapedBytes)}, ${fmt(s.scrapedCounted)} counted`
          : `${fmt(s.exportedRequests)} req, ${formatBytes(s.exportedBytes)}`,
      `${s.roundsOk}/${s.roundsOk + s.roundsFailed}`,
    ];
  });
  console.log(renderTable(headers, rows));
  if (summaries.some((s) => s.fixedRps !== null && s.fixedRps < 0.95 * s.fixedOfferedRps)) {
    console.log(`* could not sustain the offered ${fixedRate} req/s: that p99 is a saturated one`);
  }

  console.log('\nWhere the time went (saturated window, medians). app: the app process on its core, ~100 % when');
  console.log('it is the bottleneck; others: other processes and VM steal on the app core — above ~10 %');
  console.log('the app was not getting its core and the row is noisy; loadgen: autocannon + sink on the other core,');
  console.log('near 100 % means the load generator limited the run. Also startup until listening, clean exits');
  console.log('within 5 s of SIGTERM, bytes exported per request:');
  const diagRows = summaries
    .filter((s) => !s.unavailable && s.roundsOk > 0)
    .map((s) => [
      s.id,
      `${fmt(s.appCoreBusy * 100)} %`,
      s.appCoreOthers === null ? '–' : `${fmt(s.appCoreOthers * 100)} %`,
      `${fmt(s.loadgenCoreBusy * 100)} %`,
      `${fmt(s.startupMs)} ms`,
      `${s.gracefulExits}/${s.roundsOk}`,
      s.id === 'plain' || s.id === 'prom' ? '–' : `${fmt(s.exportedBytesPerReq)} B`,
    ]);
  console.log(
    renderTable(['variant', 'app', 'others', 'loadgen', 'startup', 'SIGTERM exit', 'export/req'], diagRows),
  );
  const contended = summaries.filter((s) => s.appCoreOthers !== null && s.appCoreOthers > 0.1);
  if (contended.length > 0) {
    console.log(
      `WARNING: other work took over 10 % of the app's core during ${contended.map((s) => s.id).join(', ')}; ` +
        'rerun on a quiet machine before quoting these numbers',
    );
  }

  const goals = [];
  for (const s of summaries) {
    const variant = variants.find((v) => v.id === s.id);
    if (!variant?.lattice) continue;
    if (s.unavailable || s.roundsOk === 0 || !plain || plain.roundsOk === 0) {
      goals.push(`${s.label}: goals not checked — ${s.unavailable ?? (s.roundsOk === 0 ? 'variant failed' : 'baseline failed')}`);
      continue;
    }
    const rpsRatio = ratio(s.rps, plain.rps);
    // CPU per request barely depends on how much of the core other processes took, so on a busy
    // machine plain's CPU µs/req ÷ the variant's is the steadier estimate of the req/s ratio.
    const cpuRatio = ratio(plain.cpuUsPerReq, s.cpuUsPerReq);
    const p99SaturatedRatio = ratio(s.p99Ms, plain.p99Ms);
    const p99FixedRatio = ratio(s.fixedP99Ms, plain.fixedP99Ms);
    const p99Ratio = p99FixedRatio ?? p99SaturatedRatio;
    const p99Where =
      p99FixedRatio !== null
        ? `at ${fixedRate} req/s offered (saturated: ${fmt(p99SaturatedRatio, 2)} ×)`
        : 'saturated (fixed-rate phase off)';
    const rssDelta = s.peakRssMb - plain.peakRssMb;
    const mark = (ok) => (ok ? 'met' : 'NOT met');
    goals.push(
      `${s.label}:\n` +
        `    req/s ≥ ${variant.lattice.minRpsRatio.toFixed(2)} × plain   ${fmt(rpsRatio, 2)} ×     ${mark(rpsRatio >= variant.lattice.minRpsRatio)}\n` +
        `      (from CPU/request  ${fmt(cpuRatio, 2)} ×     ${mark(cpuRatio >= variant.lattice.minRpsRatio)}  plain µs/req ÷ this row's: the noise-robust estimate)\n` +
        `    p99   ≤ 1.30 × plain   ${fmt(p99Ratio, 2)} ×     ${mark(p99Ratio <= 1.3)}  ${p99Where}\n` +
        `    RSS   ≤ plain + 40 MB  ${signed(rssDelta, 1)} MB  ${mark(rssDelta <= 40)}` +
        (s.exportedRequests === 0
          ? '\n    WARNING: the sink received nothing from this variant — the SDK did not export, so these numbers do not show its cost'
          : ''),
    );
  }
  if (goals.length > 0) console.log(`\nIssue goals (Lattice rows vs plain, medians):\n  ${goals.join('\n  ')}`);

  for (const s of summaries) {
    if (s.stderrLines.length === 0) continue;
    console.log(`\n${s.id} wrote to stderr in ${s.roundsWithStderr} of ${s.roundsOk} good round(s), e.g.:`);
    console.log(indent(s.stderrLines.join('\n')));
  }

  const failed = summaries.filter((s) => !s.unavailable && s.roundsFailed > 0);
  for (const s of failed) {
    console.log(`\n${s.id}: ${s.roundsFailed} round(s) failed; last: ${s.lastFailure}`);
    if (s.lastFailureStderr) console.log(`  stderr tail:\n${indent(s.lastFailureStderr.slice(-1500))}`);
  }
}

const oneLine = (text) => String(text ?? '').replace(/\s+/g, ' ').slice(0, 100);
const indent = (text) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');

// ---------------------------------------------------------------------------------------------
// Main.

function gitInfo() {
  try {
    const head = execFileSync('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const sdkDirty = execFileSync('git', ['-C', repoRoot, 'status', '--porcelain', '--', 'sdk'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean).length;
    return { head, sdkUncommittedFiles: sdkDirty };
  } catch {
    return undefined;
  }
}

for (const variant of variants) {
  const missing = variant.preload?.reason ?? variant.requires?.reason;
  if (missing) variant.unavailable = missing;
}

if (!existsSync('/proc/self/stat')) {
  console.error('bench:sdk needs Linux /proc to read the app process CPU and memory; stopping.');
  process.exit(1);
}

if (pinned) {
  execFileSync('taskset', ['-a', '-p', '-c', String(config.loadgenCpu), String(process.pid)], { stdio: 'ignore' });
}
if (config.nice !== 0) {
  try {
    os.setPriority(config.nice);
  } catch (error) {
    console.warn(`BENCH_NICE=${config.nice} could not be applied (${error.code ?? error.message}); needs root for < 0. Stopping.`);
    process.exit(1);
  }
}

const loadBefore = os.loadavg();
const runnable = variants.filter((v) => !v.unavailable);
const perRoundS = config.warmupS + config.durationS + config.fixedDurationS + 1.5;
console.log(
  `bench/sdk-overhead: ${runnable.length} variants × ${config.rounds} rounds, ${config.warmupS} s warm-up + ` +
    `${config.durationS} s saturated + ${config.fixedDurationS} s fixed-rate, ${config.connections} connections, ` +
    `~${Math.ceil((runnable.length * config.rounds * perRoundS) / 60)} min`,
);
console.log(
  pinned
    ? `pinned: app → CPU ${config.appCpu}; autocannon + sink → CPU ${config.loadgenCpu}`
    : `NOT pinned (${pinProblem}): app and load generator share CPUs; expect more noise`,
);
console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${cpuCount}, load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`);
if (loadBefore[0] > 0.5) {
  console.log('note: the machine is already busy (load average above); other work adds noise to every variant');
}
if (!latticePreload.reason && existsSync(latticeSrc) && newestMtimeMs(latticeSrc) > newestMtimeMs(path.dirname(latticeRegister))) {
  console.log('note: sdk/src is newer than sdk/dist/register.js; run npx tsc -b to bench the current SDK');
}

const sink = startNode({
  cpu: config.loadgenCpu,
  nodeArgs: [path.join(here, 'sink.mjs')],
  env: cleanEnv(),
  readyKey: 'benchSinkPort',
  timeoutMs: 10_000,
});
const sinkUrl = `http://127.0.0.1:${await sink.ready}`;

const startedAt = new Date();
const rounds = [];
for (let r = 0; r < config.rounds; r += 1) {
  // Rotate the order every round so no variant always runs first (or right after a heavy one).
  const order = runnable.map((_, i) => runnable[(i + r) % runnable.length]);
  for (const variant of order) {
    process.stdout.write(`round ${r + 1}/${config.rounds} ${variant.id.padEnd(16)} `);
    const result = await runRound(variant, sinkUrl);
    result.round = r + 1;
    result.loadAverage1m = os.loadavg()[0];
    rounds.push(result);
    console.log(
      result.ok
        ? `${fmt(result.rps)} req/s  p99 ${fmt(result.p99Ms, 1)} ms  ${fmt(result.cpuUsPerReq)} µs/req  ${fmt(result.peakRssMb)} MB`
        : `failed: ${oneLine(result.failure)}`,
    );
  }
}
await stopProcess(sink);
const loadAfter = os.loadavg();

const summaries = variants.map((v) => summarise(v, rounds.filter((r) => r.variant === v.id)));
console.log(
  `\nExpress 5 hello world, ${config.connections} connections, medians of ${config.rounds} rounds × ${config.durationS} s ` +
    `(min–max = spread of req/s across rounds, i.e. the machine's noise); load average before ` +
    `${loadBefore[0].toFixed(2)}, after ${loadAfter[0].toFixed(2)}\n`,
);
report(summaries);
const roundLoads = rounds.map((r) => r.loadAverage1m).sort((a, b) => a - b);
console.log(
  `\nload average (1 min) after each round: min ${roundLoads[0].toFixed(1)}, median ${median(roundLoads).toFixed(1)}, ` +
    `max ${roundLoads.at(-1).toFixed(1)} on ${cpuCount} CPUs — a shared, noisy machine when above ~1; ` +
    'trust the CPU µs/req ratios more than req/s then',
);

const resultsDir = path.join(benchRoot, 'results');
mkdirSync(resultsDir, { recursive: true });
const file = path.join(resultsDir, `sdk-overhead-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(
  file,
  JSON.stringify(
    {
      bench: 'sdk-overhead',
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      config: { ...config, pinned, pinProblem },
      machine: {
        node: process.version,
        cpu: os.cpus()[0]?.model,
        cpus: cpuCount,
        totalMemMb: Math.round(os.totalmem() / 1024 / 1024),
        loadBefore,
        loadAfter,
        clockTicks,
      },
      versions: {
        express: packageVersion('express'),
        autocannon: packageVersion('autocannon'),
        'express-prom-bundle': packageVersion('express-prom-bundle'),
        'prom-client': packageVersion('prom-client'),
        '@opentelemetry/auto-instrumentations-node': packageVersion('@opentelemetry/auto-instrumentations-node'),
        '@opentelemetry/sdk-node': packageVersion('@opentelemetry/sdk-node'),
        'dd-trace': packageVersion('dd-trace'),
        '@lattice/otel-register': packageVersion('@lattice/otel-register'),
      },
      git: gitInfo(),
      variants: variants.map((v) => ({ id: v.id, label: v.label, preload: v.preload?.path, unavailable: v.unavailable })),
      summaries,
      rounds,
    },
    null,
    2,
  ) + '\n',
);
console.log(`\nraw results: ${path.relative(repoRoot, file)}`);

const plainSummary = summaries.find((s) => s.id === 'plain');
process.exitCode = plainSummary && plainSummary.roundsOk > 0 ? 0 : 1;
