#!/usr/bin/env node
// bench/faults/pglite-rss — RSS of the embedded-PGlite receiver as its data grows: a fresh
// LATTICE_DATA_DIR, a closed loop of 8 connections sending 512-span protobuf exports
// (bench/ingest/exports.mjs) for 90 s, RSS printed every 10 s with the peak so far.
// Run: npm run build && node bench/faults/pglite-rss.mjs
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { buildTraceTemplates, traceSend } from '../ingest/exports.mjs';
const dir = mkdtempSync(path.join(os.tmpdir(), 'lattice-pglite-rss-'));
const child = spawn(process.execPath, [new URL('../../collector-receiver/dist/main.js', import.meta.url).pathname], { env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', LATTICE_LOG_LEVEL: 'error', LATTICE_DATA_DIR: dir }, stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((r) => { let o = ''; child.stdout.on('data', (d) => { o += d; const m = /on (http:\/\/[^\s·]+)/.exec(o); if (m) r(m[1]); }); });
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) / 1024;
const templates = buildTraceTemplates('protobuf', 8);
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
let tag = 1, acked = 0, stop = false, refused = 0;
const send = () => new Promise((resolve) => { const body = traceSend(templates[tag % 8], tag++); const req = http.request(new URL('/v1/traces', url), { method: 'POST', agent, headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length } }, (res) => { res.resume(); res.on('end', () => { if (res.statusCode === 200) acked++; else refused++; resolve(); }); }); req.on('error', resolve); req.end(body); });
const workers = Array.from({ length: 8 }, async () => { while (!stop) await send(); });
const t0 = Date.now(); let peak = 0;
const timer = setInterval(() => { const r = rss(); peak = Math.max(peak, r); }, 200);
for (let i = 1; i <= 9; i++) { await new Promise((r) => setTimeout(r, 10_000)); console.log(`${i * 10}s: spans acked ${acked * 512}, refused ${refused}, RSS ${rss().toFixed(0)} MB, peak ${peak.toFixed(0)} MB`); }
stop = true; await Promise.all(workers); clearInterval(timer); agent.destroy(); child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); rmSync(dir, { recursive: true, force: true });
