// Demo traffic: steady, varied requests against gateway (plus some 404 scanners), ~20 req/s.
'use strict';
const base = process.env.GATEWAY_URL;
const rate = Number(process.env.DEMO_RPS || 20);

const pick = () => {
  const r = Math.random();
  const id = 1 + Math.floor(Math.random() * 200);
  if (r < 0.45) return ['GET', `/api/users/${id}`];
  if (r < 0.8) return ['GET', `/api/users/${id}/orders`];
  if (r < 0.95) return ['POST', '/api/checkout'];
  return ['GET', `/wp-admin/${Math.random().toString(36).slice(2, 8)}.php`]; // scanners → (unmatched)
};

let stopped = false;
const timer = setInterval(() => {
  if (stopped) return;
  const [method, path] = pick();
  fetch(base + path, { method }).then((res) => res.arrayBuffer()).catch(() => {});
}, 1000 / rate);

const stop = () => { stopped = true; clearInterval(timer); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
