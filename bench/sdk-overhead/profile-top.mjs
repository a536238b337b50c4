#!/usr/bin/env node
// Top costs in a V8 .cpuprofile (node --cpu-prof), as used to find where the SDK's time goes:
//   node bench/sdk-overhead/profile-top.mjs bench/results/cpu-prof/lattice-r1.cpuprofile [N] [filter]
// Prints self time and inclusive time (each frame counted once per sample, so recursion does not
// double count) per function, and self time per package (node_modules/<pkg>, sdk/dist, node:
// internals), as % of all non-idle samples. `filter` keeps only functions whose "name file"
// contains it.
import { readFileSync } from 'node:fs';

const [file, topArg, filter] = process.argv.slice(2);
const top = Number(topArg ?? 40);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const shortUrl = (url) =>
  url
    .replace(/^file:\/\//, '')
    .replace(/.*node_modules\//, '')
    .replace(/.*\/sdk\/dist\//, 'sdk/')
    .replace(/.*\/bench\/sdk-overhead\//, 'bench/');
const keyOf = (n) => {
  const f = n.callFrame;
  return `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}:${f.lineNumber + 1}`;
};
const packageOf = (n) => {
  const url = n.callFrame.url;
  if (url === '') return n.callFrame.functionName.startsWith('(') ? n.callFrame.functionName : '(native)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (url.includes('/sdk/dist/')) return 'sdk/dist';
  if (url.startsWith('node:')) return 'node: internals';
  return shortUrl(url);
};

const self = new Map();
const inclusive = new Map();
const packages = new Map();
let total = 0;
for (const id of profile.samples) {
  const node = byId.get(id);
  const name = node.callFrame.functionName;
  if (name === '(idle)' || name === '(program)') continue;
  total++;
  self.set(keyOf(node), (self.get(keyOf(node)) ?? 0) + 1);
  packages.set(packageOf(node), (packages.get(packageOf(node)) ?? 0) + 1);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const key = keyOf(byId.get(cur));
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + 1);
  }
}
const pct = (count) => `${((100 * count) / total).toFixed(1).padStart(5)} %`;
const show = (title, map) => {
  console.log(`\n${title}`);
  [...map]
    .filter(([k]) => !filter || k.includes(filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .forEach(([k, v]) => console.log(`${pct(v)}  ${k}`));
};
console.log(`${file}: ${total} busy samples`);
show('self time by package', packages);
show('self time by function', self);
show('inclusive time by function', inclusive);
