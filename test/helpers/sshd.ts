// A real OpenSSH server for tests: unprivileged port on 127.0.0.1, its own config, a generated
// host key and authorized_keys in a temp dir. Every session gets DIRECTOR_VM_ID=<marker>, so the
// processes started through it (agent, supervisor, jobs) can be found and checked for leftovers.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateSshKeyPair } from '../../src/crypto/ssh-keys.js';
import type { SshKeyPair } from '../../src/crypto/ssh-keys.js';
import { isListening, killMarkedProcesses } from './processes.js';

export const SSHD_PATH = '/usr/sbin/sshd';

export interface TestSshd {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  /** The key allowed to log in (the director's). */
  readonly clientKey: SshKeyPair;
  /** The server's host key pair; `hostKey.publicKey` is what a client must expect. */
  readonly hostKey: SshKeyPair;
  /** A temp dir the test may use (removed by stop()). */
  readonly dir: string;
  /** The DIRECTOR_VM_ID value every session carries. */
  readonly marker: string;
  /** Stops sshd, kills every process its sessions left, removes the temp dir. */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export async function startSshd(): Promise<TestSshd> {
  if (!existsSync(SSHD_PATH))
    throw new Error(`${SSHD_PATH} is missing: install openssh-server (scripts/install-peers.sh does)`);
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = await mkdtemp(join(tmpdir(), 'test-sshd-'));
  const hostKey = generateSshKeyPair('ed25519', 'test-host');
  const clientKey = generateSshKeyPair('ed25519', 'test-director');
  const marker = `sshd-${randomBytes(6).toString('hex')}`;
  await writeFile(join(dir, 'host_key'), hostKey.privateKey, { mode: 0o600 });
  await writeFile(join(dir, 'authorized_keys'), `${clientKey.publicKey}\n`, { mode: 0o600 });
  let lastError = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const config = [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'Subsystem sftp internal-sftp',
      'MaxSessions 20',
      'MaxStartups 50',
      `SetEnv DIRECTOR_VM_ID=${marker}`,
      'LogLevel ERROR',
      '',
    ].join('\n');
    await writeFile(join(dir, 'sshd_config'), config);
    const child: ChildProcess = spawn(SSHD_PATH, ['-D', '-e', '-f', join(dir, 'sshd_config')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    let exited = false;
    const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
    for (let i = 0; i < 200 && !exited; i++) {
      if (await isListening('127.0.0.1', port)) {
        return {
          host: '127.0.0.1',
          port,
          username: userInfo().username,
          clientKey,
          hostKey,
          dir,
          marker,
          stop: async () => {
            if (!exited) {
              child.kill('SIGTERM');
              await Promise.race([exit, sleep(3000)]);
              if (!exited) child.kill('SIGKILL');
            }
            await killMarkedProcesses('DIRECTOR_VM_ID', marker);
            await rm(dir, { recursive: true, force: true });
          },
        };
      }
      await sleep(25);
    }
    if (!exited) child.kill('SIGKILL');
    await exit;
    lastError = stderr.trim();
  }
  await rm(dir, { recursive: true, force: true });
  throw new Error(`sshd did not start: ${lastError}`);
}
