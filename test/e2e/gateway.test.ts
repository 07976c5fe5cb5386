// The gateway transport against real servers: OpenSSH's sshd as the jumpbox (its direct-tcpip
// forwarding), and the local CPI's VM SSH servers behind it. One connection to the gateway
// carries every VM's; both hops check host keys strictly; a gateway that cannot be used, or is
// lost mid-command, is one error naming it, answered at once to every VM.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { GatewayError, SshGateway, type GatewayOptions } from '../../src/agent-client/gateway.js';
import { AgentSocketError, HostKeyMismatchError } from '../../src/agent-client/errors.js';
import { connectSsh } from '../../src/agent-client/ssh-transport.js';
import { execOnVm } from '../../src/agent-client/vm-shell.js';
import { generateSshKeyPair, type SshKeyPair } from '../../src/crypto/ssh-keys.js';
import { startVmSshServer, type VmSshServer } from '../../cpi/local/ssh-server.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

interface TestVm {
  readonly host: string;
  readonly port: number;
  readonly hostKey: SshKeyPair;
  readonly server: VmSshServer;
}

async function startVm(root: string, director: SshKeyPair, host = '127.0.0.1'): Promise<TestVm> {
  const hostKey = generateSshKeyPair('ed25519', 'vm');
  const port = await freePort(host);
  const server = await startVmSshServer({
    hostPrivateKey: hostKey.privateKey,
    authorizedKeys: [director.publicKey],
    root,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
    addresses: [host],
    port,
    log: () => undefined,
  });
  return { host, port, hostKey, server };
}

async function run(t: Awaited<ReturnType<typeof connectSsh>>, command: string): Promise<string> {
  const lines: string[] = [];
  const outcome = await t.exec(command, '', (l) => lines.push(l), 10_000);
  assert.equal(outcome.code, 0, outcome.stderr);
  return lines.join('\n');
}

describe('the SSH gateway', { concurrency: false }, () => {
  let sshd: TestSshd;
  let root: string;
  let vms: TestVm[] = [];
  let gwOptions: GatewayOptions;

  before(async () => {
    sshd = await startSshd();
    root = await mkdtemp(join(tmpdir(), 'gateway-test-'));
    await writeFile(join(root, 'hello'), 'hi\n');
    // the director's key is the one sshd authorizes: the same key logs in on both hops
    vms = [await startVm(root, sshd.clientKey), await startVm(root, sshd.clientKey)];
    gwOptions = {
      host: sshd.host,
      port: sshd.port,
      username: sshd.username,
      privateKey: sshd.clientKey.privateKey,
      hostPublicKey: sshd.hostKey.publicKey,
      connectTimeoutMs: 5000,
    };
  });
  after(async () => {
    for (const vm of vms) await vm.server.close();
    await sshd?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const through = (gateway: SshGateway, vm: TestVm, hostPublicKey = vm.hostKey.publicKey) =>
    connectSsh({
      host: vm.host,
      port: vm.port,
      username: 'vcap',
      privateKey: sshd.clientKey.privateKey,
      hostPublicKey,
      connectTimeoutMs: 5000,
      maxChannels: 2,
      vm: `vm-${vm.port}`,
      gateway,
    });

  it('carries every VM over one connection to the gateway, a forwarded channel each', async () => {
    const gateway = new SshGateway(gwOptions);
    try {
      const [a, b] = await Promise.all(vms.map((vm) => through(gateway, vm)));
      assert.equal(await run(a!, 'cat hello'), 'hi');
      assert.equal(await run(b!, 'echo $((6*7))'), '42');
      assert.deepEqual(gateway.stats, { connections: 1, channels: 2 });
      a!.close();
      b!.close();
    } finally {
      gateway.disconnect();
    }
  });

  it('refuses a gateway that presents another host key, naming the gateway and both fingerprints', async () => {
    const other = generateSshKeyPair('ed25519', 'impostor');
    const gateway = new SshGateway({ ...gwOptions, hostPublicKey: other.publicKey });
    try {
      await assert.rejects(through(gateway, vms[0]!), (err: Error) => {
        assert.ok(err instanceof GatewayError, String(err));
        assert.match(
          err.message,
          new RegExp(
            `^Reaching the gateway ${sshd.username}@127\\.0\\.0\\.1:${sshd.port}: host key mismatch: expected SHA256:\\S+, the server presented SHA256:\\S+$`,
          ),
        );
        return true;
      });
    } finally {
      gateway.disconnect();
    }
  });

  it('checks the VM behind the gateway as strictly: another host key is a HostKeyMismatchError for the VM', async () => {
    const gateway = new SshGateway(gwOptions);
    try {
      await assert.rejects(
        through(gateway, vms[0]!, generateSshKeyPair('ed25519', 'x').publicKey),
        (err: Error) =>
          err instanceof HostKeyMismatchError && err.message.startsWith(`Host key mismatch for vm-${vms[0]!.port}`),
      );
      // the gateway itself was fine: the other VM is reached over the same connection
      const b = await through(gateway, vms[1]!);
      assert.equal(await run(b, 'cat hello'), 'hi');
      b.close();
      assert.equal(gateway.stats.connections, 1);
    } finally {
      gateway.disconnect();
    }
  });

  it('names the VM and the gateway when the gateway cannot reach the VM', async () => {
    const gateway = new SshGateway(gwOptions);
    try {
      const closed = await freePort('127.0.0.1');
      await assert.rejects(
        connectSsh({
          host: '127.0.0.1',
          port: closed,
          username: 'vcap',
          privateKey: sshd.clientKey.privateKey,
          hostPublicKey: vms[0]!.hostKey.publicKey,
          connectTimeoutMs: 5000,
          maxChannels: 1,
          vm: 'worker/0',
          gateway,
        }),
        (err: Error) =>
          err instanceof AgentSocketError &&
          !(err instanceof GatewayError) &&
          err.message.startsWith(
            `Connecting to worker/0 at 127.0.0.1:${closed} through the gateway ${gateway.label}: `,
          ),
      );
    } finally {
      gateway.disconnect();
    }
  });

  it('a gateway nobody answers at is one error with its address, given at once to every VM after it', async () => {
    const port = await freePort('127.0.0.1');
    const gateway = new SshGateway({ ...gwOptions, port });
    try {
      const errors = await Promise.all(
        vms.map((vm) =>
          through(gateway, vm).then(
            () => assert.fail('connected'),
            (e: Error) => e,
          ),
        ),
      );
      for (const e of errors) {
        assert.ok(e instanceof GatewayError, String(e));
        assert.equal(
          e.message,
          `Reaching the gateway ${sshd.username}@127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`,
        );
      }
      const later = await through(gateway, vms[0]!).catch((e: Error) => e);
      assert.equal(later, errors[0], 'a later VM gets the same error without another attempt');
      assert.equal(gateway.stats.connections, 1);
    } finally {
      gateway.disconnect();
    }
  });

  it('a gateway lost mid-command fails that command with the gateway named, not a per-VM timeout', async () => {
    // a local VM as the jumpbox (its SSH server forwards TCP as sshd does), so the test can take it down
    const jumpRoot = await mkdtemp(join(tmpdir(), 'gateway-jump-'));
    const jump = await startVm(jumpRoot, sshd.clientKey);
    const gateway = new SshGateway({
      host: jump.host,
      port: jump.port,
      username: 'vcap',
      privateKey: sshd.clientKey.privateKey,
      hostPublicKey: jump.hostKey.publicKey,
      connectTimeoutMs: 5000,
    });
    try {
      const t = await through(gateway, vms[0]!);
      assert.equal(await run(t, 'cat hello'), 'hi');
      const long = t.exec('sleep 2', '', () => undefined, 60_000);
      setTimeout(() => void jump.server.close(), 200);
      await assert.rejects(long, (err: Error) => {
        assert.ok(err instanceof GatewayError, String(err));
        assert.match(
          err.message,
          new RegExp(`^Reaching the gateway vcap@127\\.0\\.0\\.1:${jump.port}: the connection was lost`),
        );
        return true;
      });
      // and the next VM hears why at once: the gateway does not listen any more
      const next = await through(gateway, vms[1]!).catch((e: Error) => e);
      assert.ok(next instanceof GatewayError && /ECONNREFUSED/.test(next.message), String(next));
    } finally {
      gateway.disconnect();
      await jump.server.close();
      await rm(jumpRoot, { recursive: true, force: true });
    }
  });

  it('director ssh -c runs through the gateway too', async () => {
    const out = new PassThrough();
    const err = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const vm = vms[1]!;
    const code = await execOnVm(
      {
        host: vm.host,
        port: vm.port,
        hostPublicKey: vm.hostKey.publicKey,
        privateKey: sshd.clientKey.privateKey,
        name: 'master/0',
        gateway: gwOptions,
      },
      'cat hello; exit 3',
      out,
      err,
    );
    assert.equal(code, 3);
    assert.equal(text, 'hi\n');
  });
});
