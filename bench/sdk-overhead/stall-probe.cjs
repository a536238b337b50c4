'use strict';
// Preloaded (before the SDK) by loop-stalls.mjs: measures the app's event loop from inside.
//   - event-loop delay (perf_hooks.monitorEventLoopDelay, 1 ms resolution timer);
//   - every GC pause (PerformanceObserver 'gc' entries: kind, start, duration).
// Driven over the IPC channel: 'reset' starts a window, 'report' answers what the window saw.
// Times are also given on process.hrtime's clock (CLOCK_MONOTONIC, µs), which is the clock of
// the V8 .cpuprofile timestamps, so loop-stalls.mjs can cut the profile to the same window.
const { constants, monitorEventLoopDelay, performance, PerformanceObserver } = require('node:perf_hooks');

const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();

const KINDS = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak-callbacks',
};
let pauses = [];
const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    pauses.push({ kind: KINDS[entry.detail?.kind] ?? String(entry.detail?.kind), startMs: entry.startTime, ms: entry.duration });
  }
});
observer.observe({ entryTypes: ['gc'] });

const hrUs = () => Number(process.hrtime.bigint() / 1000n);
// performance.now() + this = the hrtime clock in µs (both monotonic; offset taken once).
const perfToHrUs = () => hrUs() - performance.now() * 1000;

process.on('message', (message) => {
  if (message === 'reset') {
    delay.reset();
    pauses = [];
    process.send({ probe: 'reset', hrUs: hrUs() });
  } else if (message === 'report') {
    const offsetUs = perfToHrUs();
    const byKind = {};
    for (const p of pauses) {
      const k = (byKind[p.kind] ??= { count: 0, totalMs: 0, maxMs: 0 });
      k.count += 1;
      k.totalMs += p.ms;
      k.maxMs = Math.max(k.maxMs, p.ms);
    }
    process.send({
      probe: 'report',
      hrUs: hrUs(),
      loopDelayMs: {
        p50: delay.percentile(50) / 1e6,
        p99: delay.percentile(99) / 1e6,
        max: delay.max / 1e6,
        mean: delay.mean / 1e6,
      },
      gc: byKind,
      gcPauses: pauses.map((p) => ({ kind: p.kind, startHrUs: p.startMs * 1000 + offsetUs, ms: p.ms })),
    });
  }
});
process.channel?.unref();
