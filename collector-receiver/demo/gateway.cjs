// Demo service "gateway" (CommonJS, Express 5). Calls users with fetch and orders through users.
// Started by `lattice-receiver --demo` with `node --require @lattice/otel-register`.
'use strict';
const express = require('express');

const port = Number(process.env.PORT);
const usersUrl = process.env.USERS_URL;
const app = express();

app.get('/api/users/:id', async (req, res, next) => {
  try {
    const upstream = await fetch(`${usersUrl}/users/${encodeURIComponent(req.params.id)}`);
    res.status(upstream.status).json(await upstream.json());
  } catch (err) {
    next(err);
  }
});

app.get('/api/users/:id/orders', async (req, res, next) => {
  try {
    const upstream = await fetch(`${usersUrl}/users/${encodeURIComponent(req.params.id)}/orders`);
    res.status(upstream.status).json(await upstream.json());
  } catch (err) {
    next(err);
  }
});

app.post('/api/checkout', async (req, res, next) => {
  try {
    const upstream = await fetch(`${usersUrl}/users/42/orders`, { method: 'POST' });
    res.status(upstream.status === 201 ? 201 : 502).json({ ok: upstream.status === 201 });
  } catch (err) {
    next(err);
  }
});

app.get('/health', (_req, res) => { res.json({ ok: true }); });

app.listen(port, '127.0.0.1', () => console.log(`[demo] gateway on :${port}`));
