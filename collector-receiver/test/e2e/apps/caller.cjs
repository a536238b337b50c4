// Service A: calls service B (CALLEE_URL) with fetch and with http.request.
'use strict';
const express = require('express');
const http = require('node:http');

const callee = new URL(process.env.CALLEE_URL);
const app = express();

app.get('/via-fetch/:id', async (req, res) => {
  const upstream = await fetch(`${callee.origin}/things/${req.params.id}`);
  res.status(upstream.status).send(await upstream.text());
});

app.get('/via-http/:id', (req, res) => {
  http.get({ host: callee.hostname, port: callee.port, path: `/things/${req.params.id}` }, (upstream) => {
    upstream.resume();
    upstream.on('end', () => res.status(upstream.statusCode || 500).send('ok'));
  }).on('error', () => res.status(502).end());
});

const server = app.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
