/** Spawns a fixture app under the SDK preload and waits for its `LISTENING <port>` line. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export const REPO = resolve(__dirname, '../../..');
export const REGISTER = resolve(REPO, 'sdk/dist/register.js');
export const FIXTURES = resolve(REPO, 'sdk/test/fixtures');

export interface RunningApp {
  proc: ChildProcess;
  port: number;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SpawnOptions {
  /** Path under sdk/test/fixtures. */
  script: string;
  /** Node flags, e.g. ['--require', REGISTER]; default is that. */
  nodeArgs?: string[];
  env?: Record<string, string | undefined>;
  collectorUrl?: string;
}

const running = new Set<ChildProcess>();

/** A clean environment: the test runner's own OTEL_* / LATTICE_* never leak into the app. */
function baseEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('OTEL_') && !k.startsWith('LATTICE_') && k !== 'NODE_OPTIONS') env[k] = v;
  }
  return env;
}

export async function spawnApp(options: SpawnOptions): Promise<RunningApp> {
  const env = baseEnv();
  if (options.collectorUrl) {
    env.OTEL_EXPORTER_OTLP_ENDPOINT = options.collectorUrl;
    env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
  }
  Object.assign(env, options.env);
  const script = resolve(FIXTURES, options.script);
  const proc = spawn(process.execPath, [...(options.nodeArgs ?? ['--require', REGISTER]), script], {
    env,
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    proc.on('exit', (code, signal) => {
      running.delete(proc);
      resolveExit({ code, signal });
    });
  });
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`app did not listen in 15 s; stderr: ${err}`)), 15_000);
    const onData = (): void => {
      const m = /LISTENING (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolvePort(Number(m[1]));
      }
    };
    proc.stdout!.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`app exited before listening (code ${code}, signal ${signal}); stderr: ${err}`));
    });
  });
  return { proc, port, url: `http://127.0.0.1:${port}`, stdout: () => out, stderr: () => err, exited };
}

/** Kills every app this file spawned that is still running (afterEach). */
export async function killApps(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const proc of running) {
    waits.push(new Promise((r) => proc.once('exit', r)));
    proc.kill('SIGKILL');
  }
  await Promise.all(waits);
}

/** GET (or other method) and read the body, so keep-alive sockets are released. */
export async function hit(url: string, method = 'GET'): Promise<number> {
  const res = await fetch(url, { method });
  await res.arrayBuffer();
  return res.status;
}
