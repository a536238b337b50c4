// Telemetry sink for bench/sdk-overhead/run.mjs: stands in for the Lattice receiver / OTel
// Collector (OTLP/HTTP) and the Datadog agent, on loopback, in its own process so its CPU is
// not charged to the app under test.
//
// Every request body is read to the end, then answered 200:
//   POST /v1/traces|metrics|logs  → empty ExportServiceResponse in the request's encoding
//                                   (JSON `{}` or an empty protobuf message)
//   anything else (dd-trace: PUT /v0.4/traces, /info, ...) → `{}` as JSON
// GET /__stats answers the per-path counts {path: {requests, bytes}} and, with ?reset=1, clears them.
// Prints one JSON line {"benchSinkPort": n} once listening.

import { createServer } from 'node:http';

let stats = {};

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://sink');
  if (req.method === 'GET' && url.pathname === '/__stats') {
    const body = JSON.stringify(stats);
    if (url.searchParams.get('reset') === '1') stats = {};
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
    return;
  }
  let bytes = 0;
  req.on('data', (chunk) => {
    bytes += chunk.length;
  });
  req.on('end', () => {
    const entry = (stats[url.pathname] ??= { requests: 0, bytes: 0 });
    entry.requests += 1;
    entry.bytes += bytes;
    const contentType = req.headers['content-type'] ?? '';
    if (url.pathname.startsWith('/v1/') && contentType.includes('protobuf')) {
      res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': '0' });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  req.on('error', () => {
    res.destroy();
  });
});

server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(JSON.stringify({ benchSinkPort: address.port }) + '\n');
});

const stop = () => {
  server.close();
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
