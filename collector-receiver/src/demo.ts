/**
 * `lattice-receiver --demo` / `npm run demo`: three small instrumented Express services calling each
 * other (gateway → users → orders, via fetch and http.request) under steady varied traffic with some
 * errors and slow routes, all pointed at this receiver, so a newcomer sees data within seconds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const demoDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'demo');

export interface DemoHandle {
  services: string[];
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something answers HTTP on the port, or after 30 s (the traffic then just sees errors). */
async function waitUntilListening(port: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      await (await fetch(`http://127.0.0.1:${port}/`)).arrayBuffer();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

export async function startDemo(receiverUrl: string, log: (line: string) => void): Promise<DemoHandle> {
  const registerPath = createRequire(import.meta.url).resolve('@lattice/otel-register');
  const [gatewayPort, usersPort, ordersPort] = [await freePort(), await freePort(), await freePort()];
  const baseEnv = {
    ...process.env,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl,
    // The demo services must not inherit a DATABASE_URL or PORT meant for the receiver.
    DATABASE_URL: '',
  };
  const children: ChildProcess[] = [];
  const start = (name: string, script: string, preload: string[], env: Record<string, string>) => {
    const child = spawn(process.execPath, [...preload, join(demoDir, script)], {
      env: { ...baseEnv, OTEL_SERVICE_NAME: name, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line.trim()) log(`[demo ${name}] ${line}`);
    });
    children.push(child);
  };

  start('orders', 'orders.cjs', ['--require', registerPath], { PORT: String(ordersPort) });
  start('users', 'users.mjs', ['--import', pathToFileURL(registerPath).href], {
    PORT: String(usersPort),
    ORDERS_URL: `http://127.0.0.1:${ordersPort}`,
  });
  start('gateway', 'gateway.cjs', ['--require', registerPath], {
    PORT: String(gatewayPort),
    USERS_URL: `http://127.0.0.1:${usersPort}`,
  });
  // Traffic starts once the three services answer, so the first requests are not refused.
  await Promise.all([gatewayPort, usersPort, ordersPort].map((port) => waitUntilListening(port)));
  // Traffic is not instrumented: it plays the part of users' browsers.
  start('traffic', 'traffic.cjs', [], { GATEWAY_URL: `http://127.0.0.1:${gatewayPort}` });

  return {
    services: ['gateway', 'users', 'orders'],
    async stop() {
      await Promise.all(children.map((child) => new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => { child.kill('SIGKILL'); }, 3000);
        timer.unref();
        child.once('exit', () => { clearTimeout(timer); resolve(); });
        child.kill('SIGTERM');
      })));
    },
  };
}
