// Demo service "orders" (CommonJS, Express 5): the slow and flaky one.
'use strict';
const express = require('express');

const port = Number(process.env.PORT);
const app = express();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Log-normal-ish latency: mostly fast, a long tail.
function latencyMs(medianMs) {
  const u = Math.random() || 1e-9;
  const v = Math.random();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return medianMs * Math.exp(0.6 * z);
}

app.get('/orders', async (_req, res) => {
  await sleep(latencyMs(15));
  if (Math.random() < 0.03) return res.status(500).json({ error: 'database timeout' });
  res.json([{ id: 1, total: 12.5 }, { id: 2, total: 99 }]);
});

app.post('/orders', async (_req, res) => {
  await sleep(latencyMs(120)); // the slow route
  if (Math.random() < 0.08) return res.status(503).json({ error: 'payment provider unavailable' });
  res.status(201).json({ id: Math.floor(Math.random() * 1e6) });
});

app.get('/orders/:id', async (req, res) => {
  await sleep(latencyMs(5));
  res.json({ id: req.params.id });
});

app.listen(port, '127.0.0.1', () => console.log(`[demo] orders on :${port}`));
