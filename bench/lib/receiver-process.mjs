/**
 * The receiver as its own process, for the benches that measure it from outside (bench/ingest,
 * bench/faults): started from collector-receiver/dist/main.js on 127.0.0.1 and a free port, ready
 * once it prints its "Lattice receiver on <url>" line; its RSS read from /proc.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** LATTICE_* settings of the bench's own environment, passed to every receiver (a scenario's own win). */
export const RECEIVER_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('LATTICE_')));

/** A process's resident set in MB, or null when it is gone. */
export function rssMb(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch { return null; }
}

/**
 * Starts a receiver: `vars` are its environment on top of RECEIVER_ENV (DATABASE_URL among them),
 * `nodeArgs` go before the script (e.g. --cpu-prof). Resolves { url, pid, stop(), kill9() } once it
 * listens; rejects with its last stderr if it exits first or does not start in 60 s.
 */
export async function startReceiverProcess({ vars = {}, nodeArgs = [], cwd = ROOT, logLevel = 'warn' } = {}) {
  const child = spawn(process.execPath, [...nodeArgs, path.join(ROOT, 'collector-receiver/dist/main.js')], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, HOST: '127.0.0.1', PORT: '0', LATTICE_LOG_LEVEL: logLevel, ...RECEIVER_ENV, ...vars },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  const exited = new Promise((r) => child.once('exit', r));
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`receiver did not start in 60 s: ${stderr}`)), 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      const match = /Lattice receiver on (http:\/\/[^\s·]+)/.exec(out);
      if (match) { clearTimeout(timer); resolve(match[1]); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`receiver exited ${code}: ${stderr}`)); });
  });
  child.stdout.resume();
  return {
    url, pid: child.pid,
    /** SIGTERM (the receiver flushes what it holds), SIGKILL after 30 s. */
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
    async kill9() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
