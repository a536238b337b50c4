'use strict';
// Hello-world Express 5 app measured by bench/sdk-overhead/run.mjs.
// CommonJS on purpose: `node --require <preload>` instruments CJS `require('express')`;
// an ESM app would need an extra loader hook and would measure that instead.
//
// BENCH_PROM=1 adds express-prom-bundle (prom-client) the way its README shows.
// Prints one JSON line {"benchAppPort": n} once listening on 127.0.0.1 (port 0: the OS picks).
// SIGTERM closes the server like a well-behaved service, so preloads get to flush on the way out.

const express = require('express');

const app = express();

if (process.env.BENCH_PROM === '1') {
  const promBundle = require('express-prom-bundle');
  app.use(promBundle({ includeMethod: true, includePath: true, includeStatusCode: true }));
}

app.get('/', (_req, res) => {
  res.send('Hello World!');
});

const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(JSON.stringify({ benchAppPort: address.port }) + '\n');
});

process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});
