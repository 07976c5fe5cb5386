// A local load balancer: a TCP proxy per frontend port forwarding round robin to the LIVE
// members of its backend pool (a member that refuses is skipped). Started detached by the local
// CPI as `node lb-proxy.js <lb dir>`; it re-reads members.json whenever the folder changes.
import { readFileSync, watch } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { join } from 'node:path';
import { writeJson } from './json-file.js';
import type { LbConfigRecord, LbMember } from './layout.js';

const lbDir = process.argv[2];
if (lbDir === undefined) {
  process.stderr.write('usage: lb-proxy <lb dir>\n');
  process.exit(2);
}
const log = (line: string): void => void process.stdout.write(`${new Date().toISOString()} ${line}\n`);
const config = JSON.parse(readFileSync(join(lbDir, 'config.json'), 'utf8')) as LbConfigRecord;
let members: readonly LbMember[] = [];
let next = 0;
let applied = -1;

// members.json carries a version; once a version is in use it is acknowledged in applied.json,
// so that the CPI returns only when the pool it changed is the pool being served.
function reload(): void {
  let version = 0;
  try {
    const read = JSON.parse(readFileSync(join(lbDir as string, 'members.json'), 'utf8')) as {
      version: number;
      members: LbMember[];
    };
    members = read.members;
    version = read.version;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return; // keep the last list
    members = [];
  }
  if (version !== applied) {
    applied = version;
    writeJson(join(lbDir as string, 'applied.json'), { version }).catch((err: unknown) =>
      log(`acknowledging: ${(err as Error).message}`),
    );
  }
}

function forward(client: Socket, backend: number): void {
  client.pause();
  client.on('error', () => undefined);
  const pool = members;
  const start = next++;
  const attempt = (i: number): void => {
    if (i >= pool.length || client.destroyed) {
      client.destroy();
      return;
    }
    const member = pool[(start + i) % pool.length] as LbMember;
    const upstream = connect({ host: member.ip, port: backend });
    const refused = (): void => attempt(i + 1);
    upstream.once('error', refused);
    upstream.once('connect', () => {
      upstream.off('error', refused);
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  };
  attempt(0);
}

async function main(): Promise<void> {
  reload();
  watch(lbDir as string, () => reload()).on('error', (err) => log(`watching: ${err.message}`));
  const servers: Server[] = [];
  for (const port of config.ports) {
    const server = createServer((sock) => forward(sock, port.backend));
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port.frontend, config.address, () => resolve());
    });
  }
  const stop = (): void => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await writeJson(join(lbDir as string, 'proxy.json'), {
    pid: process.pid,
    address: config.address,
    ports: config.ports,
  });
  log(
    `load balancer ${config.name} listening on ${config.address} ports ${config.ports.map((p) => p.frontend).join(', ')}`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`lb-proxy: ${(err as Error).message}\n`);
  process.exit(1);
});
