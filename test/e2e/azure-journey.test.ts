// The Azure journey end to end through the CLI: create-env with manifests/env.yml and
// ops-files/azure.yml against the fake ARM (HTTPS, its own CA and authority; Azurite for blobs),
// upload-release, deploy of cfcr.yml with the Azure cloud provider and the master in the load
// balancer's backend pool, vms, ssh, logs, an errand, kubeconfig, delete-env. Every Azure VM is
// booted by the fake's hooks as a local VM host in the world's vnet namespace, so the agents
// really run, and the director — in a namespace of its own, where a private address cannot be
// dialed — reaches them through the jumpbox create-env made; the jumpbox is killed mid-deploy and
// the re-run converges. The masters' persistent disks are managed disks the
// hypervisor gives each VM at its LUN, and etcd keeps its data there. A second run on a fresh environment injects faults (30%
// throttling, 10% server errors, 5% failed async operations, 5% 409 AnotherOperationInProgress
// conflicts, 5% Canceled operations) and must converge all the same,
// leaving nothing in the fake that the state does not record.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStateStore } from '../../src/state/index.js';
import type { StoredResource } from '../fakes/arm/arm-state.js';
import { fakeArmToken, rawRequest } from '../fakes/arm/raw-client.js';
import { runDirector, startDirector, type DirectorRun } from '../helpers/director-process.js';
import { parse } from 'yaml';
import { LocalLayout } from '../../cpi/local/layout.js';
import { azureWorldUnavailable, RESOURCE_GROUP, startAzureWorld, type AzureWorld } from './azure-world.js';

const FAULTS = {
  seed: 7,
  throttleRate: 0.3,
  serverErrorRate: 0.1,
  asyncFailureRate: 0.05,
  conflictRate: 0.05,
  canceledRate: 0.05,
};

const ok = (r: DirectorRun, what: string): DirectorRun => {
  assert.equal(r.code, 0, `${what} failed:\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-2000)}`);
  return r;
};

interface VmRow {
  readonly instance: string;
  readonly process_state: string;
  readonly vm_cid: string;
}

async function vms(w: AzureWorld): Promise<VmRow[]> {
  const r = ok(await runDirector(['vms', '-d', 'my-cluster', '--json'], w.env), 'vms');
  return JSON.parse(r.stdout).Tables[0].Rows as VmRow[];
}

const agentOf = (vmCid: string): string => /agent_id:([^;]+)/.exec(vmCid)?.[1] ?? vmCid;

function recorded(w: AzureWorld): { uuid: string; foundation: string[]; intended: string[] | undefined } {
  const store = openStateStore(join(w.env['DIRECTOR_HOME'] as string, 'azure', 'state.db'));
  try {
    const env = store.environment.get();
    assert.ok(env, 'the environment is recorded');
    return {
      uuid: env.directorUuid,
      foundation: (env.cpiProperties['foundation_created'] ?? []) as string[],
      intended: env.cpiProperties['foundation_intended'] as string[] | undefined,
    };
  } finally {
    store.close();
  }
}

/**
 * Every resource in the fake is either foundation the state recorded (or a child of it), or
 * tagged with the director's uuid and belonging to a VM the director lists: nothing orphaned.
 */
function assertNothingOrphaned(w: AzureWorld, rows: readonly VmRow[]): void {
  const { uuid, foundation } = recorded(w);
  const agents = new Set(rows.map((r) => agentOf(r.vm_cid)));
  const foundationIds = foundation.map((id) => id.toLowerCase());
  for (const id of foundationIds.filter((id) => !id.includes('/blobservices/'))) {
    const group = /\/resourcegroups\/([^/]+)$/.exec(id)?.[1];
    assert.ok(
      group === undefined ? w.fake.state.get(id) : w.fake.state.group(group),
      `recorded foundation resource ${id} exists`,
    );
  }
  // a VM's own OS and ephemeral disks carry no tags of their own (ARM makes them with the VM, and
  // the CPI spends no PATCH on them): they belong to the VM that holds them
  const ownerOf = (diskId: string) =>
    w.fake.state.list('Microsoft.Compute/virtualMachines').find((vm) => {
      const sp = vm.body.properties?.storageProfile ?? {};
      return [sp.osDisk, ...(sp.dataDisks ?? [])].some(
        (d: { managedDisk?: { id?: string } } | undefined) =>
          d?.managedDisk?.id?.toLowerCase() === diskId.toLowerCase(),
      );
    });
  const orphans = w.fake.state.all().filter((r: StoredResource) => {
    const tags = (r.body.tags ?? {}) as Record<string, string>;
    if (tags['director'] === uuid) return !agents.has(tags['agent_id'] ?? '');
    const owner = r.type === 'Microsoft.Compute/disks' ? ownerOf(r.id) : undefined;
    if (owner !== undefined && owner.body.tags?.director === uuid) return !agents.has(owner.body.tags?.agent_id ?? '');
    const id = r.id.toLowerCase();
    // a child of a recorded resource (a subnet of the vnet) is foundation too; the group is not a parent here
    return !foundationIds.some((f) => id === f || (!/\/resourcegroups\/[^/]+$/.test(f) && id.startsWith(`${f}/`)));
  });
  assert.deepEqual(
    orphans.map((r) => r.id),
    [],
  );
  const ourVms = w.fake.state.list('Microsoft.Compute/virtualMachines').filter((r) => r.body.tags?.director === uuid);
  assert.deepEqual(
    ourVms.map((r) => r.name).sort(),
    [...agents].sort(),
    `the fake runs exactly the VMs the director lists (director ${uuid}; VM tags: ${JSON.stringify(w.fake.state.list('Microsoft.Compute/virtualMachines').map((r) => r.body.tags))})`,
  );
}

/** A GET of the fake's ARM surface as the SDK sees it, through the throttling and 5xx it injects. */
async function armGet(w: AzureWorld, id: string, apiVersion: string): Promise<Record<string, unknown>> {
  let last = '';
  for (let i = 0; i < 40; i++) {
    try {
      const r = await rawRequest(w.fake, 'GET', `${id}?api-version=${apiVersion}`, {
        token: await fakeArmToken(w.fake),
      });
      if (r.status === 200) return r.body as Record<string, unknown>;
      assert.ok(r.status === 429 || r.status >= 500, `GET ${id}: ${r.status} ${JSON.stringify(r.body)}`);
      last = String(r.status);
    } catch (err) {
      if (err instanceof assert.AssertionError) throw err;
      last = String(err);
    }
    await sleep(50);
  }
  throw new Error(`GET ${id} kept failing: ${last}`);
}

/** Runs a small Node script in one of the world's namespaces, `input` as JSON on its stdin; its stdout. */
async function nodeIn(w: AzureWorld, ns: string, script: string, input: unknown): Promise<string> {
  const r = await w.network.run(ns, [process.execPath, '-e', script], JSON.stringify(input));
  assert.equal(r.code, 0, `script in ${ns} failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** What a TCP dial from the director's namespace gives: 'connected', or the error code. */
const DIAL = `const [host, port] = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const s = require('net').connect(port, host);
s.setTimeout(5000);
s.on('connect', () => { console.log('connected'); s.destroy(); });
s.on('error', (e) => console.log(e.code));
s.on('timeout', () => { console.log('timeout'); s.destroy(); });`;

/** An HTTPS GET from inside a namespace: `{status, body}`. */
const GET = `const { url, ...tls } = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const req = require('https').request(url, { ...tls, timeout: 5000 }, (res) => {
  let body = '';
  res.on('data', (c) => (body += c));
  res.on('end', () => console.log(JSON.stringify({ status: res.statusCode, body })));
});
req.on('timeout', () => req.destroy(new Error('timeout: ' + url)));
req.on('error', (e) => { console.error(e.message); process.exit(1); });
req.end();`;

/** etcd's /health over TLS with the etcdctl root client certificate the deploy generated, asked from inside the vnet. */
async function etcdHealth(w: AzureWorld, ip: string): Promise<string> {
  const store = openStateStore(join(w.env['DIRECTOR_HOME'] as string, 'azure', 'state.db'));
  let tls: { ca: string; cert: string; key: string };
  try {
    const root = store.variables.get('my-cluster', 'tls-etcdctl-root')?.value as Record<string, string>;
    const client = store.variables.get('my-cluster', 'tls-etcdctl-v0-29-0')?.value as Record<string, string>;
    tls = { ca: client['ca'] as string, cert: root['certificate'] as string, key: root['private_key'] as string };
  } finally {
    store.close();
  }
  return (
    JSON.parse(await nodeIn(w, w.network.vnet, GET, { url: `https://${ip}:2379/health`, ...tls })) as { body: string }
  ).body;
}

/** Kills the jumpbox's VM host (as if the VM died): every SSH connection through it drops. */
function killJumpbox(w: AzureWorld): string {
  const cid = w.hypervisor.everBooted.get('jumpbox');
  assert.ok(cid, 'the fake booted the jumpbox');
  const host = JSON.parse(
    readFileSync(join(new LocalLayout(join(w.home, 'hypervisor')).vmDir(cid), 'host.json'), 'utf8'),
  ) as { pid: number };
  process.kill(host.pid, 'SIGKILL');
  return cid;
}

/** The director reaches the VMs only through the jumpbox: a direct dial fails in its own namespace. */
async function assertWalls(w: AzureWorld): Promise<void> {
  assert.equal(
    await nodeIn(w, w.network.director, DIAL, [`${w.net}.10`, 22]),
    'ENETUNREACH',
    'a private address cannot be dialed from the director',
  );
  assert.equal(
    await nodeIn(w, w.network.director, DIAL, [w.jumpboxAddress, 22]),
    'connected',
    "the jumpbox's public address can",
  );
  // the gateway the state recorded is the jumpbox, with the host key the director generated
  const store = openStateStore(join(w.env['DIRECTOR_HOME'] as string, 'azure', 'state.db'));
  try {
    const gw = store.environment.get()?.gateway;
    assert.equal(gw?.['mode'], 'jumpbox');
    assert.equal(gw?.['host'], w.jumpboxAddress);
    assert.match(String(gw?.['host_public_key']), /^ssh-ed25519 /);
  } finally {
    store.close();
  }
  const nsg = w.fake.state
    .list('Microsoft.Network/networkSecurityGroups', RESOURCE_GROUP)
    .find((r) => r.name === 'jumpbox-nsg');
  assert.deepEqual(
    (
      nsg?.body.properties.securityRules as {
        properties: { sourceAddressPrefix: string; destinationPortRange: string };
      }[]
    ).map((r) => [r.properties.sourceAddressPrefix, r.properties.destinationPortRange]),
    [[`${w.network.directorAddress}/32`, '22']],
    'SSH to the jumpbox from the listed CIDR only',
  );
}

/**
 * Each master has one persistent managed disk besides its ephemeral one, Attached and managed by
 * its VM as ARM reports it; its folder (what the VM sees at that LUN) holds etcd's data, and etcd
 * answers healthy on every master. Workers have no persistent disk.
 */
async function assertMastersKeepEtcdOnTheirDisks(w: AzureWorld, rows: readonly VmRow[]): Promise<void> {
  for (const r of rows) {
    const vm = w.fake.state
      .list('Microsoft.Compute/virtualMachines', RESOURCE_GROUP)
      .find((v) => v.name === agentOf(r.vm_cid));
    assert.ok(vm, `${r.instance}: its VM is in the fake`);
    const persistent = (
      (vm.body.properties.storageProfile?.dataDisks ?? []) as {
        lun: number;
        name: string;
        managedDisk: { id: string };
      }[]
    ).filter((d) => !d.name.endsWith('-ephemeral-disk'));
    if (!r.instance.startsWith('master/')) {
      assert.deepEqual(persistent, [], `${r.instance} has no persistent disk`);
      continue;
    }
    assert.equal(persistent.length, 1, `${r.instance} has one persistent disk: ${JSON.stringify(persistent)}`);
    const disk = await armGet(w, (persistent[0] as { managedDisk: { id: string } }).managedDisk.id, '2025-01-02');
    assert.equal(
      (disk['properties'] as Record<string, unknown>)['diskState'],
      'Attached',
      `${r.instance}'s disk is Attached`,
    );
    assert.equal(
      String(disk['managedBy']).toLowerCase(),
      vm.id.toLowerCase(),
      `${r.instance}'s disk is managed by its VM`,
    );
    const etcdData = readdirSync(join(w.hypervisor.diskFolder(disk['id'] as string), 'etcd'));
    assert.ok(etcdData.length > 0, `${r.instance}: etcd's data is on the disk`);
  }
  for (const i of [10, 11, 12]) {
    const health = await etcdHealth(w, `${w.net}.${i}`);
    assert.equal((JSON.parse(health) as { health: string }).health, 'true', `etcd at ${w.net}.${i}: ${health}`);
  }
}

async function journey(w: AzureWorld, opts: { killJumpboxMidDeploy?: boolean } = {}): Promise<VmRow[]> {
  const created = ok(await runDirector(w.createEnvArgs, w.env), 'create-env');
  assert.match(created.stdout, /Creating foundation: azure foundation with the jumpbox/);
  assert.match(created.stdout, /identity, gateway, foundation, stemcell, cloud-config recorded/);
  assert.ok(w.fake.state.group(RESOURCE_GROUP), 'the resource group exists');
  await assertWalls(w);
  ok(await runDirector(['upload-release', 'release'], w.env), 'upload-release');
  if (opts.killJumpboxMidDeploy) {
    // the jumpbox dies once the first VMs are being set up: one error naming it, then a re-run converges
    const run = startDirector(w.deployArgs, w.env);
    for (let i = 0; i < 6000 && w.hypervisor.byAzureId.size < 3; i++) await sleep(10);
    assert.ok(w.hypervisor.byAzureId.size >= 3, 'the deploy created VMs before the kill');
    const jumpbox = killJumpbox(w);
    const failed = await run.done;
    assert.equal(failed.code, 1, failed.stdout);
    const errors = failed.stderr.split('\n').filter((l) => /^Error:/.test(l));
    // how the loss shows depends on the moment of the kill: a channel open on the dropped connection,
    // a reconnect refused, or a reconnect accepted by the dying process and closed mid-handshake
    assert.equal(errors.length, 1, failed.stderr);
    assert.match(
      errors[0]!,
      new RegExp(
        `Reaching the gateway jumpbox@${w.jumpboxAddress.replace(/\./g, '\\.')}:22: (the connection was lost|the connection closed during the handshake|connect ECONNREFUSED|read ECONNRESET)`,
      ),
    );
    assert.doesNotMatch(
      failed.stdout + failed.stderr,
      /no SSH handshake within|no answer within/,
      'no per-VM timeouts',
    );
    // the operator brings the jumpbox back (an Azure restart) and deploys again
    await w.hypervisor.local.rebootVm(jumpbox);
  }
  ok(await runDirector(w.deployArgs, w.env), 'deploy');
  const rows = await vms(w);
  assert.deepEqual(rows.map((r) => r.instance.split('/')[0]).sort(), [
    'master',
    'master',
    'master',
    'worker',
    'worker',
    'worker',
  ]);
  for (const r of rows) assert.equal(r.process_state, 'running', `${r.instance} is running`);
  // The masters, and only they, are members of cfcr-lb's backend pool (the vm_extension).
  const lb = w.fake.state.list('Microsoft.Network/loadBalancers', RESOURCE_GROUP).find((r) => r.name === 'cfcr-lb');
  assert.ok(lb, 'the foundation made cfcr-lb');
  const poolId = `${lb.id}/backendAddressPools/cfcr-lb-pool`.toLowerCase();
  type IpConfig = { properties?: { loadBalancerBackendAddressPools?: { id: string }[] } };
  const members = w.fake.state
    .list('Microsoft.Network/networkInterfaces', RESOURCE_GROUP)
    .filter((nic) =>
      ((nic.body.properties.ipConfigurations ?? []) as IpConfig[]).some((c) =>
        (c.properties?.loadBalancerBackendAddressPools ?? []).some((p) => p.id.toLowerCase() === poolId),
      ),
    )
    .map((nic) => nic.name.replace(/-0$/, ''))
    .sort();
  assert.deepEqual(
    members,
    rows
      .filter((r) => r.instance.startsWith('master/'))
      .map((r) => agentOf(r.vm_cid))
      .sort(),
  );
  await assertMastersKeepEtcdOnTheirDisks(w, rows);
  assertNothingOrphaned(w, rows);
  return rows;
}

/** ssh, logs, an errand and the kubeconfig, from the director's namespace: through the jumpbox, and the LB's public address. */
async function operate(w: AzureWorld): Promise<void> {
  const sshRun = ok(await runDirector(['ssh', '-d', 'my-cluster', 'master/0', '-c', 'ls jobs'], w.env), 'ssh');
  assert.match(sshRun.stdout, /^etcd$/m);
  const direct = await runDirector(['ssh', '-d', 'my-cluster', 'master/0', '-c', 'true', '--gw-disable'], w.env);
  assert.equal(direct.code, 1, 'without the gateway the VM cannot be reached');
  assert.match(direct.stderr, /ENETUNREACH/);
  ok(await runDirector(['logs', '-d', 'my-cluster', 'master/0', '--dir', w.home], w.env), 'logs');
  assert.equal(readdirSync(w.home).filter((f) => /^my-cluster\.master\..*\.tgz$/.test(f)).length, 1);
  const errand = ok(await runDirector(['run-errand', 'smoke-tests', '-d', 'my-cluster'], w.env), 'run-errand');
  assert.match(errand.stdout, /^Exit Code {2}0$/m);
  const kubeconfig = parse(ok(await runDirector(['kubeconfig', '-d', 'my-cluster'], w.env), 'kubeconfig').stdout) as {
    clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
    users: { user: { token: string } }[];
  };
  const cluster = kubeconfig.clusters[0]!.cluster;
  assert.equal(cluster.server, `https://${w.lbAddress}:8443`, "the kubeconfig names the load balancer's public IP");
  const health = JSON.parse(
    await nodeIn(w, w.network.director, GET, {
      url: `${cluster.server}/healthz`,
      ca: Buffer.from(cluster['certificate-authority-data'], 'base64').toString(),
      headers: { authorization: `Bearer ${kubeconfig.users[0]!.user.token}` },
    }),
  ) as { status: number; body: string };
  assert.deepEqual(health, { status: 200, body: 'ok' });
}

async function deleteEnvLeavesNothing(w: AzureWorld): Promise<void> {
  // named explicitly: a create-env that failed did not make itself the current environment
  ok(await runDirector(['delete-env', '-e', 'azure', '-n', '--force'], w.env), 'delete-env');
  assert.deepEqual(
    w.fake.state.all().map((r) => r.id),
    [],
    'no resource left in the fake',
  );
  assert.deepEqual(
    w.fake.state.listGroups().map((g) => g.name),
    [],
    'no resource group left',
  );
  assert.equal(w.liveVmHosts(), 0, 'no VM host process left');
}

describe('Azure journey through the CLI against the fake ARM', { skip: azureWorldUnavailable() }, () => {
  let w: AzureWorld | undefined;
  after(async () => {
    await w?.stop();
  });

  test('create-env builds the foundation and the jumpbox; deploy through it survives losing it; vms, ssh, logs, errand, kubeconfig; a second create-env writes nothing; delete-env', async () => {
    w = await startAzureWorld();
    try {
      await journey(w, { killJumpboxMidDeploy: true });
      await operate(w);
      const writes = w.armWrites();
      const again = ok(await runDirector(w.createEnvArgs, w.env), 'second create-env');
      assert.match(again.stdout, /: no changes/);
      assert.equal(w.armWrites(), writes, 'the second create-env made no ARM write');
      await deleteEnvLeavesNothing(w);
    } finally {
      await w.stop();
      w = undefined;
    }
  });

  test('a create-env whose foundation fails half way records what it made, and delete-env removes exactly that', async () => {
    w = await startAzureWorld();
    try {
      // the load balancer's creation keeps failing (more often than async_retries allows)
      w.fake.faults.enqueue({ kind: 'asyncFailure', method: 'PUT', pathIncludes: '/loadBalancers/cfcr-lb', count: 6 });
      const failed = await runDirector(w.createEnvArgs, w.env);
      assert.equal(failed.code, 1, failed.stdout);
      assert.match(
        failed.stderr,
        /^Error: Creating the Azure foundation: Ensuring the Azure foundation in resource group 'cfcr-rg'.*InternalExecutionError/,
      );
      assert.doesNotMatch(
        failed.stdout + failed.stderr,
        new RegExp(w.fake.clientSecret.replace(/[^A-Za-z0-9]/g, '.')),
        'the client secret is never printed',
      );
      const { foundation } = recorded(w);
      const kinds = foundation
        .map((id) => id.replace(/^.*\/providers\/|^\/subscriptions\/[^/]+\//, '').replace(/\/[^/]+$/, ''))
        .sort();
      // the jumpbox's NSG is made with the others; its VM comes after the load balancer
      assert.deepEqual(kinds, [
        'Microsoft.Network/loadBalancers',
        'Microsoft.Network/networkSecurityGroups',
        'Microsoft.Network/networkSecurityGroups',
        'Microsoft.Network/networkSecurityGroups',
        'Microsoft.Network/publicIPAddresses',
        'Microsoft.Network/virtualNetworks',
        'resourceGroups',
      ]);
      await deleteEnvLeavesNothing(w);
    } finally {
      await w.stop();
      w = undefined;
    }
  });

  test('a create-env killed while ARM creates the foundation leaks nothing: delete-env removes it, or the next run completes it', async () => {
    w = await startAzureWorld();
    try {
      const killWhen = async (what: string, made: () => boolean): Promise<void> => {
        const run = startDirector(w!.createEnvArgs, w!.env);
        for (let i = 0; i < 3000 && !made(); i++) await sleep(5);
        assert.ok(made(), `${what} was created before the kill`);
        run.child.kill('SIGKILL');
        await run.done;
      };
      // killed right after ARM accepted the virtual network: nothing of the run's own record yet but its intents
      await killWhen('the virtual network', () => w!.fake.state.list('Microsoft.Network/virtualNetworks').length > 0);
      const { foundation, intended } = recorded(w);
      assert.ok(
        (intended ?? []).some((id) => /\/virtualNetworks\/[^/]+$/i.test(id)),
        `the vnet is recorded as intended before its PUT (intended: ${JSON.stringify(intended)}, created: ${JSON.stringify(foundation)})`,
      );
      await deleteEnvLeavesNothing(w);

      // killed at the load balancer, then run again: it completes, and what it intended is now recorded as created
      await killWhen('the load balancer', () => w!.fake.state.list('Microsoft.Network/loadBalancers').length > 0);
      ok(await runDirector(w.createEnvArgs, w.env), 'create-env after the kill');
      const after = recorded(w);
      assert.equal(after.intended, undefined, 'no intent left once the run completed');
      const kinds = after.foundation.map((id) =>
        id
          .replace(/^.*\/providers\/|^\/subscriptions\/[^/]+\//, '')
          .replace(/\/[^/]+$/, '')
          .toLowerCase(),
      );
      for (const kind of [
        'resourcegroups',
        'microsoft.network/virtualnetworks',
        'microsoft.network/publicipaddresses',
        'microsoft.network/loadbalancers',
        'microsoft.storage/storageaccounts',
      ]) {
        assert.ok(kinds.includes(kind), `${kind} recorded as created (recorded: ${JSON.stringify(after.foundation)})`);
      }
      await deleteEnvLeavesNothing(w);
    } finally {
      await w.stop();
      w = undefined;
    }
  });

  test('the same journey with 30% throttling, 10% server errors, 5% failed async operations, 5% conflicts and 5% Canceled converges and leaks nothing', async () => {
    w = await startAzureWorld(FAULTS);
    try {
      await journey(w);
      const faults = w.fake.requestLog.entries().filter((e) => e.fault === 'throttle' || e.fault === 'serverError');
      assert.ok(
        faults.some((e) => e.fault === 'throttle') && faults.some((e) => e.fault === 'serverError'),
        'the fake did throttle and fail requests',
      );
      await deleteEnvLeavesNothing(w);
    } finally {
      await w.stop();
      w = undefined;
    }
  });
});
