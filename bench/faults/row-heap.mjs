#!/usr/bin/env node
// bench/faults/row-heap — heap held per queued row: what the writer's byte estimate
// (ROW_HEAP_BYTES in collector-receiver/src/pipeline/batching-writer.ts) is based on.
// Decodes and translates 200 real 512-span protobuf exports (bench/ingest/exports.mjs) and keeps
// them, as the writer's queue does; also the decoded request alone (garbage once translated).
// Run: npm run build && node --expose-gc bench/faults/row-heap.mjs
import { buildTraceTemplates, traceSend } from '../ingest/exports.mjs';
import { decodeTraceRequest } from '../../collector-receiver/dist/otlp/decode.js';
import { toTraceRows } from '../../collector-receiver/dist/translate/spans.js';

if (typeof global.gc !== 'function') {
  console.error('run with node --expose-gc');
  process.exit(2);
}
const EXPORTS = 200;
const templates = buildTraceTemplates('protobuf', 4);
const kept = [];
global.gc();
const before = process.memoryUsage().heapUsed;
for (let i = 0; i < EXPORTS; i++) {
  const body = traceSend(templates[i % templates.length], i + 1);
  kept.push({ body, rows: toTraceRows(decodeTraceRequest(body, 'protobuf'), Date.now()) });
}
global.gc();
const perExport = (process.memoryUsage().heapUsed - before) / EXPORTS;
const rows = kept[0].rows.requests.length + kept[0].rows.spans.length;
const decoded = [];
global.gc();
const beforeDecoded = process.memoryUsage().heapUsed;
for (let i = 0; i < 50; i++) decoded.push(decodeTraceRequest(traceSend(templates[i % templates.length], i + 1000), 'protobuf'));
global.gc();
const perDecoded = (process.memoryUsage().heapUsed - beforeDecoded) / 50;
console.log('| what | bytes |');
console.log('| --- | ---: |');
console.log(`| protobuf body (off-heap Buffer) | ${templates[0].body.length} |`);
console.log(`| translated rows of one export (${rows} rows), heap | ${Math.round(perExport)} |`);
console.log(`| per row | ${Math.round(perExport / rows)} |`);
console.log(`| decoded request object (transient), heap | ${Math.round(perDecoded)} |`);
