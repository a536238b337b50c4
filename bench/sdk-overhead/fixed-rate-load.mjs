// Open-loop GET / sender shared by run.mjs (its fixed-rate phase) and loop-stalls.mjs.
import http from 'node:http';

/**
 * Open-loop load: sends GET / on a fixed schedule (rate per second, spread over 1 ms ticks) no
 * matter how fast answers come, over at most `connections` keep-alive sockets. Latency runs from
 * each request's scheduled time, so time spent queued behind a slow app counts (no coordinated
 * omission). autocannon's overallRate is not used because it releases each second's quota in a
 * burst at the top of the second. Requests still unanswered 5 s after the window count with the
 * time they had waited so far.
 */
export function fixedRateLoad(port, rate, durationS, connections) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const total = Math.round(rate * durationS);
  const intervalMs = 1000 / rate;
  const windowMs = durationS * 1000;
  const latencies = [];
  const pending = new Set();
  let sent = 0;
  let answeredInWindow = 0;
  let non2xx = 0;
  let errors = 0;
  const start = performance.now();
  return new Promise((resolve) => {
    let ticker;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(ticker);
      clearTimeout(deadline);
      const now = performance.now();
      for (const intended of pending) latencies.push(now - intended);
      agent.destroy();
      const sorted = latencies.sort((a, b) => a - b);
      const at = (q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : null);
      resolve({
        offeredRps: rate,
        rps: answeredInWindow / durationS,
        p50Ms: at(0.5),
        p99Ms: at(0.99),
        maxMs: sorted.at(-1) ?? null,
        unanswered: pending.size,
        non2xx,
        errors,
      });
    };
    const settle = (intended) => {
      pending.delete(intended);
      if (!settled && sent === total && pending.size === 0) finish();
    };
    const send = (i) => {
      const intended = start + i * intervalMs;
      pending.add(intended);
      const req = http.request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        if (res.statusCode < 200 || res.statusCode >= 300) non2xx += 1;
        res.resume();
        res.once('end', () => {
          const now = performance.now();
          if (now - start <= windowMs) answeredInWindow += 1;
          latencies.push(now - intended);
          settle(intended);
        });
      });
      req.once('error', () => {
        errors += 1;
        latencies.push(performance.now() - intended);
        settle(intended);
      });
      req.end();
    };
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - start) / intervalMs) + 1);
      while (sent < due) send(sent++);
      if (sent < total) ticker = setTimeout(tick, 1);
    };
    const deadline = setTimeout(finish, windowMs + 5_000);
    tick();
  });
}
