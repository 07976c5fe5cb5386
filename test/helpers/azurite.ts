import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { isListening } from './processes.js';

/** A port free on `host` (loopback by default) right now. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, host, () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Azurite's blob service on a port of `host` (loopback by default), in memory, telemetry off, knowing one account's keys. */
export async function startAzurite(
  account: string,
  keys: { key1: string; key2: string },
  host = '127.0.0.1',
): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort(host);
  const main = createRequire(import.meta.url).resolve('azurite/dist/src/blob/main.js');
  const child: ChildProcess = spawn(
    process.execPath,
    [
      main,
      '--blobHost',
      host,
      '--blobPort',
      String(port),
      '--inMemoryPersistence',
      '--disableTelemetry',
      '--silent',
      '--skipApiVersionCheck',
    ],
    {
      env: { ...process.env, AZURITE_ACCOUNTS: `${account}:${keys.key1}:${keys.key2}` },
      stdio: 'ignore',
    },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  for (let i = 0; !(await isListening(host, port)); i++) {
    if (i > 500 || child.exitCode !== null) throw new Error('Azurite did not start');
    await sleep(20);
  }
  return {
    url: `http://${host}:${port}/${account}`,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
