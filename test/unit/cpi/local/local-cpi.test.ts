import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Networks, VmEnv } from '../../../../cpi/contract.js';
import { CpiError } from '../../../../cpi/cpi-error.js';
import { LocalCpi } from '../../../../cpi/local/local-cpi.js';
import ssh2 from 'ssh2';
import { generateSshKeyPair, parseSshPublicKey } from '../../../../src/crypto/ssh-keys.js';
import type { SshKeyPair } from '../../../../src/crypto/ssh-keys.js';
import { findMarkedProcesses, isListening, killMarkedProcesses } from '../../../helpers/processes.js';
import { sshConnect } from '../../../contract/ssh-probe.js';

const here = fileURLToPath(import.meta.url);
const underTsx = here.endsWith('.ts');
const modulePath = join(here, '../../../../../cpi/local/local-cpi' + (underTsx ? '.ts' : '.js'));

function readAll(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const sock = connect({ host, port });
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', () => resolve(Buffer.concat(chunks).toString()));
    sock.on('close', () => resolve(Buffer.concat(chunks).toString()));
  });
}

describe('local CPI specifics', { concurrency: false }, () => {
  let root: string;
  let cpi: LocalCpi;
  let stemcell: string;
  const net = `127.${randomInt(16, 250)}.${randomInt(1, 250)}`;
  const sshPort = randomInt(20_000, 40_000);
  const lbPort = randomInt(40_000, 50_000);
  const backendPort = randomInt(50_000, 60_000);
  const director = generateSshKeyPair();
  let nextIp = 2;
  const servers: Server[] = [];

  const env = (agentId: string, hostKey: SshKeyPair): VmEnv => ({
    bosh: { group: 'g', password: 'not-a-real-hash' },
    director: { uuid: 'dir-1', deployment: 'dep', instance: { group: 'web', index: 0, id: 'i-1' }, agentId },
    ssh: { hostPrivateKey: hostKey.privateKey, authorizedKeys: [director.publicKey] },
  });
  const create = async (opts: { networks?: Networks; cloudProperties?: Record<string, unknown> } = {}) => {
    const ip = `${net}.${nextIp++}`;
    const hostKey = generateSshKeyPair();
    const networks = opts.networks ?? { default: { type: 'manual', ip } };
    const created = await cpi.createVm(
      `agent-${ip}`,
      stemcell,
      opts.cloudProperties ?? {},
      networks,
      [],
      env(`agent-${ip}`, hostKey),
    );
    return { cid: created.vmCid, ip, hostKey, created };
  };
  const ssh = (ip: string, hostKey: SshKeyPair) =>
    sshConnect({ host: ip, port: sshPort, privateKey: director.privateKey, expectedHostKey: hostKey.publicKey });

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'local-cpi-unit-'));
    cpi = new LocalCpi(
      {
        root,
        ssh_port: sshPort,
        load_balancers: { web: { address: `${net}.250`, ports: [{ frontend: lbPort, backend: backendPort }] } },
      },
      { path: process.env.PATH },
    );
    stemcell = await cpi.createStemcell('/nowhere', { name: 'bosh-local', version: 7 });
  });
  after(async () => {
    for (const s of servers) s.close();
    await cpi.deleteLoadBalancers();
    await killMarkedProcesses('DIRECTOR_CPI_ROOT', root);
    await rm(root, { recursive: true, force: true });
  });

  it('runs commands with DIRECTOR_VM_ID set and cwd = HOME = the VM root folder', async () => {
    const vm = await create();
    const probe = await ssh(vm.ip, vm.hostKey);
    const r = await probe.exec(
      'echo "$DIRECTOR_VM_ID"; echo "$HOME"; pwd; command -v node >/dev/null && echo has-node',
    );
    probe.close();
    const vmRoot = join(root, 'vms', vm.cid, 'root');
    assert.equal(r.stdout, `${vm.cid}\n${vmRoot}\n${vmRoot}\nhas-node\n`);
    await cpi.deleteVm(vm.cid);
  });

  it('keeps secrets out of records and logs; the host key file is 0600', async () => {
    const vm = await create();
    const dir = join(root, 'vms', vm.cid);
    const secretBody = vm.hostKey.privateKey.split('\n')[1] as string;
    assert.equal(readFileSync(join(dir, 'vm.json'), 'utf8').includes(secretBody), false);
    assert.equal(readFileSync(join(dir, 'host.log'), 'utf8').includes(secretBody), false);
    assert.equal(statSync(join(dir, 'ssh_host_key')).mode & 0o777, 0o600);
    const settings = JSON.parse(readFileSync(join(dir, 'root', 'bosh', 'settings.json'), 'utf8'));
    assert.equal(settings.agent_id, `agent-${vm.ip}`);
    assert.deepEqual(settings.vm, { name: vm.cid });
    await cpi.deleteVm(vm.cid);
  });

  it('records attached disks in the agent settings and removes them on detach', async () => {
    const vm = await create();
    const disk = await cpi.createDisk(100, {}, vm.cid);
    const hint = await cpi.attachDisk(vm.cid, disk);
    assert.deepEqual(hint, { path: `store-disks/${disk}` });
    const settingsFile = join(root, 'vms', vm.cid, 'root', 'bosh', 'settings.json');
    assert.deepEqual(JSON.parse(readFileSync(settingsFile, 'utf8')).disks.persistent, { [disk]: hint });
    await cpi.detachDisk(vm.cid, disk);
    assert.deepEqual(JSON.parse(readFileSync(settingsFile, 'utf8')).disks.persistent, {});
    assert.equal(existsSync(join(root, 'vms', vm.cid, 'root', 'store-disks', disk)), false);
    await cpi.deleteDisk(disk);
    await cpi.deleteVm(vm.cid);
  });

  it('gives a dynamic network a free loopback IP and returns it (create_vm v2)', async () => {
    const vm = await create({ networks: { dyn: { type: 'dynamic' } } });
    const ip = vm.created.networks?.dyn?.ip;
    assert.match(ip ?? '', /^127\.100\.\d+\.\d+$/);
    const probe = await ssh(ip as string, vm.hostKey);
    assert.equal((await probe.exec('echo ok')).stdout, 'ok\n');
    probe.close();
    await cpi.deleteVm(vm.cid);
  });

  it('refuses an IP already used by another VM, leaving nothing behind', async () => {
    const vm = await create();
    const before = readdirSync(join(root, 'vms')).length;
    const err = await cpi
      .createVm(
        'agent-dup',
        stemcell,
        {},
        { default: { type: 'manual', ip: vm.ip } },
        [],
        env('agent-dup', generateSshKeyPair()),
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(err instanceof CpiError);
    assert.deepEqual([err.kind, err.okToRetry], ['VmCreationFailed', false]);
    assert.match(
      err.message,
      new RegExp(`networks.default.ip ${vm.ip.replace(/\./g, '\\.')} is already used by VM '${vm.cid}'`),
    );
    await assert.rejects(
      cpi.createVm(
        'agent-x',
        stemcell,
        {},
        { default: { type: 'manual', ip: '10.0.0.5' } },
        [],
        env('agent-x', generateSshKeyPair()),
      ),
      {
        kind: 'InvalidCloudProperties',
        message: /networks\.default\.ip must be a static IP in 127\.0\.0\.0\/8 for a local VM, found '10\.0\.0\.5'/,
      },
    );
    assert.equal(readdirSync(join(root, 'vms')).length, before);
    await cpi.deleteVm(vm.cid);
  });

  it('a VM whose host cannot listen is VmCreationFailed and leaves no folder or process', async () => {
    const ip = `${net}.${nextIp++}`;
    const blocker = createServer();
    servers.push(blocker);
    await new Promise<void>((resolve) => blocker.listen(sshPort, ip, resolve));
    const before = readdirSync(join(root, 'vms')).length;
    await assert.rejects(
      cpi.createVm(
        'agent-b',
        stemcell,
        {},
        { default: { type: 'manual', ip } },
        [],
        env('agent-b', generateSshKeyPair()),
      ),
      (err: unknown) =>
        err instanceof CpiError && err.kind === 'VmCreationFailed' && /EADDRINUSE/.test(err.message) && !err.okToRetry,
    );
    assert.equal(readdirSync(join(root, 'vms')).length, before);
    blocker.close();
  });

  it('has_vm checks that the recorded pid really is the VM host; reboot_vm revives a crashed VM', async () => {
    const vm = await create();
    const hostFile = join(root, 'vms', vm.cid, 'host.json');
    const host = JSON.parse(readFileSync(hostFile, 'utf8'));
    process.kill(host.pid, 'SIGKILL');
    const end = Date.now() + 10_000;
    while (cpi.hostPid(vm.cid) !== undefined && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await cpi.hasVm(vm.cid), false);
    writeFileSync(hostFile, JSON.stringify({ ...host, pid: process.pid })); // a live pid that is not a VM host
    assert.equal(await cpi.hasVm(vm.cid), false);
    await cpi.rebootVm(vm.cid);
    assert.equal(await cpi.hasVm(vm.cid), true);
    const probe = await ssh(vm.ip, vm.hostKey);
    assert.equal((await probe.exec('echo back')).stdout, 'back\n');
    probe.close();
    await cpi.deleteVm(vm.cid);
  });

  it('VM hosts and load balancers outlive the process that created them', async (t) => {
    const ip = `${net}.${nextIp++}`;
    const hostKey = generateSshKeyPair();
    const script = `
      const { LocalCpi } = await import(${JSON.stringify(modulePath)});
      const cpi = new LocalCpi(${JSON.stringify({ root, ssh_port: sshPort, load_balancers: { web: { address: `${net}.250`, ports: [{ frontend: lbPort, backend: backendPort }] } } })}, { path: process.env.PATH });
      const vm = await cpi.createVm('agent-cli', ${JSON.stringify(stemcell)}, { load_balancer: 'web' }, { default: { type: 'manual', ip: ${JSON.stringify(ip)} } }, [], ${JSON.stringify(env('agent-cli', hostKey))});
      process.stdout.write(vm.vmCid);`;
    const args = [...(underTsx ? ['--import', 'tsx'] : []), '--input-type=module', '-e', script];
    const cid = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, args, { cwd: join(here, '../../../../..') }, (err, stdout, stderr) =>
        err ? reject(new Error(stderr)) : resolve(stdout),
      ),
    );
    // the creating process has exited; the VM and its load balancer still serve
    assert.equal(await cpi.hasVm(cid), true);
    const probe = await ssh(ip, hostKey);
    await probe.exec(
      `setsid nohup node -e "require('net').createServer(s => { s.on('error', () => {}); s.end('via lb'); }).listen(${backendPort}, '${ip}')" >/dev/null 2>&1 </dev/null &`,
    );
    const rss = readFileSync(`/proc/${cpi.hostPid(cid)}/status`, 'utf8').match(/VmRSS:\s+(\d+ kB)/)?.[1];
    t.diagnostic(`idle VM host RSS: ${rss}${underTsx ? ' (under tsx)' : ''}`);
    probe.close();
    const end = Date.now() + 10_000;
    while (!(await isListening(ip, backendPort)) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await readAll(`${net}.250`, lbPort), 'via lb');
    // a member that refuses is skipped: add a VM with no backend
    const idle = await create({ cloudProperties: { load_balancer: 'web' } });
    for (let i = 0; i < 4; i++) assert.equal(await readAll(`${net}.250`, lbPort), 'via lb');
    // a proxy that died is started again when its pool changes
    const proxyPid = JSON.parse(readFileSync(join(root, 'load-balancers', 'web', 'proxy.json'), 'utf8')).pid as number;
    process.kill(proxyPid, 'SIGKILL');
    const gone = Date.now() + 10_000;
    while ((await isListening(`${net}.250`, lbPort)) && Date.now() < gone) await new Promise((r) => setTimeout(r, 20));
    await cpi.deleteVm(idle.cid);
    assert.equal(await readAll(`${net}.250`, lbPort), 'via lb');
    // delete-env's helper stops the proxy even with members left
    await cpi.deleteLoadBalancers();
    assert.equal(await isListening(`${net}.250`, lbPort), false);
    assert.deepEqual(
      findMarkedProcesses('DIRECTOR_LB', 'web').filter((p) => p.cmdline.includes(root)),
      [],
    );
    await cpi.deleteVm(cid);
    assert.deepEqual(findMarkedProcesses('DIRECTOR_VM_ID', cid), []);
  });

  it('an interactive shell with a pty: sized as asked, echoing, Enter runs a line, Ctrl-C interrupts, exit status kept', async () => {
    const vm = await create();
    const expected = parseSshPublicKey(vm.hostKey.publicKey).blob;
    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', reject);
      client.connect({
        host: vm.ip,
        port: sshPort,
        username: 'vcap',
        privateKey: director.privateKey,
        hostVerifier: (key: Buffer) => key.equals(expected),
      });
    });
    try {
      const { out, code } = await new Promise<{ out: string; code: number | null }>((resolve, reject) => {
        client.shell({ rows: 33, cols: 101, term: 'xterm' }, (err, stream) => {
          if (err) return reject(err);
          let out = '';
          let code: number | null = null;
          let step = 0;
          stream.on('data', (d: Buffer) => {
            out += d.toString();
            // typed as a terminal sends it: CR for Enter, ETX for Ctrl-C
            if (step === 0 && /[$#] $/.test(out)) {
              step = 1;
              stream.write('stty size; echo "term=$TERM"\r');
            } else if (step === 1 && /term=xterm/.test(out)) {
              step = 2;
              stream.write('sleep 30; echo slept\r');
              setTimeout(() => stream.write('\x03'), 300);
            } else if (step === 2 && /\^C/.test(out)) {
              step = 3;
              stream.write('exit 7\r');
            }
          });
          stream.on('exit', (c: number | null) => (code = c));
          const stuck = setTimeout(() => stream.close(), 20_000); // a hang fails below with what was seen
          stream.on('close', () => {
            clearTimeout(stuck);
            resolve({ out, code });
          });
        });
      });
      assert.match(out, /^33 101\r?$/m, out);
      assert.match(out, /stty size; echo "term=\$TERM"/, 'the pty echoes what was typed');
      assert.doesNotMatch(out, /^slept/m, 'Ctrl-C interrupted the sleep');
      assert.equal(code, 7);
    } finally {
      client.end();
      await cpi.deleteVm(vm.cid);
    }
  });

  it('leaves no process behind', async () => {
    await cpi.deleteStemcell(stemcell);
    assert.deepEqual(findMarkedProcesses('DIRECTOR_CPI_ROOT', root), []);
  });
});
