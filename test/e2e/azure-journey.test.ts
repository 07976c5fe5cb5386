// The Azure journey end to end through the CLI: create-env with manifests/env.yml and
// ops-files/azure.yml against the fake ARM (HTTPS, its own CA and authority; Azurite for blobs),
// upload-release, deploy of cfcr.yml with the Azure cloud provider and the master in the load
// balancer's backend pool, vms, delete-env. Every Azure VM is booted by the fake's hooks as a local
// VM host, so the agents really run; the masters' persistent disks are managed disks the
// hypervisor gives each VM at its LUN, and etcd keeps its data there. A second run on a fresh environment injects faults (30%
// throttling, 10% server errors, 5% failed async operations) and must converge all the same,
// leaving nothing in the fake that the state does not record.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStateStore } from '../../src/state/index.js';
import type { StoredResource } from '../fakes/arm/arm-state.js';
import { fakeArmToken, rawRequest } from '../fakes/arm/raw-client.js';
import { runDirector, startDirector, type DirectorRun } from '../helpers/director-process.js';
import { RESOURCE_GROUP, startAzureWorld, type AzureWorld } from './azure-world.js';

const FAULTS = { seed: 7, throttleRate: 0.3, serverErrorRate: 0.1, asyncFailureRate: 0.05 };

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
    return { uuid: env.directorUuid, foundation: (env.cpiProperties['foundation_created'] ?? []) as string[], intended: env.cpiProperties['foundation_intended'] as string[] | undefined };
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
    assert.ok(group === undefined ? w.fake.state.get(id) : w.fake.state.group(group), `recorded foundation resource ${id} exists`);
  }
  const orphans = w.fake.state.all().filter((r: StoredResource) => {
    const tags = (r.body.tags ?? {}) as Record<string, string>;
    if (tags['director'] === uuid) return !agents.has(tags['agent_id'] ?? '');
    const id = r.id.toLowerCase();
    // a child of a recorded resource (a subnet of the vnet) is foundation too; the group is not a parent here
    return !foundationIds.some((f) => id === f || (!/\/resourcegroups\/[^/]+$/.test(f) && id.startsWith(`${f}/`)));
  });
  assert.deepEqual(
    orphans.map((r) => r.id),
    [],
  );
  const ourVms = w.fake.state.list('Microsoft.Compute/virtualMachines').filter((r) => r.body.tags?.director === uuid);
  assert.deepEqual(ourVms.map((r) => r.name).sort(), [...agents].sort(), `the fake runs exactly the VMs the director lists (director ${uuid}; VM tags: ${JSON.stringify(w.fake.state.list('Microsoft.Compute/virtualMachines').map((r) => r.body.tags))})`);
}

/** A GET of the fake's ARM surface as the SDK sees it, through the throttling and 5xx it injects. */
async function armGet(w: AzureWorld, id: string, apiVersion: string): Promise<Record<string, unknown>> {
  let last = '';
  for (let i = 0; i < 40; i++) {
    try {
      const r = await rawRequest(w.fake, 'GET', `${id}?api-version=${apiVersion}`, { token: await fakeArmToken(w.fake) });
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

/** etcd's /health over TLS with the etcdctl root client certificate the deploy generated. */
function etcdHealth(w: AzureWorld, ip: string): Promise<string> {
  const store = openStateStore(join(w.env['DIRECTOR_HOME'] as string, 'azure', 'state.db'));
  let tls: { ca: string; cert: string; key: string };
  try {
    const root = store.variables.get('my-cluster', 'tls-etcdctl-root')?.value as Record<string, string>;
    const client = store.variables.get('my-cluster', 'tls-etcdctl-v0-29-0')?.value as Record<string, string>;
    tls = { ca: client['ca'] as string, cert: root['certificate'] as string, key: root['private_key'] as string };
  } finally {
    store.close();
  }
  return new Promise((resolve, reject) => {
    const req = request(`https://${ip}:2379/health`, { ...tls, timeout: 5000 }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve(text));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${ip}`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Each master has one persistent managed disk besides its ephemeral one, Attached and managed by
 * its VM as ARM reports it; its folder (what the VM sees at that LUN) holds etcd's data, and etcd
 * answers healthy on every master. Workers have no persistent disk.
 */
async function assertMastersKeepEtcdOnTheirDisks(w: AzureWorld, rows: readonly VmRow[]): Promise<void> {
  for (const r of rows) {
    const vm = w.fake.state.list('Microsoft.Compute/virtualMachines', RESOURCE_GROUP).find((v) => v.name === agentOf(r.vm_cid));
    assert.ok(vm, `${r.instance}: its VM is in the fake`);
    const persistent = ((vm.body.properties.storageProfile?.dataDisks ?? []) as { lun: number; name: string; managedDisk: { id: string } }[]).filter((d) => !d.name.endsWith('-ephemeral-disk'));
    if (!r.instance.startsWith('master/')) {
      assert.deepEqual(persistent, [], `${r.instance} has no persistent disk`);
      continue;
    }
    assert.equal(persistent.length, 1, `${r.instance} has one persistent disk: ${JSON.stringify(persistent)}`);
    const disk = await armGet(w, (persistent[0] as { managedDisk: { id: string } }).managedDisk.id, '2025-01-02');
    assert.equal((disk['properties'] as Record<string, unknown>)['diskState'], 'Attached', `${r.instance}'s disk is Attached`);
    assert.equal(String(disk['managedBy']).toLowerCase(), vm.id.toLowerCase(), `${r.instance}'s disk is managed by its VM`);
    const etcdData = readdirSync(join(w.hypervisor.diskFolder(disk['id'] as string), 'etcd'));
    assert.ok(etcdData.length > 0, `${r.instance}: etcd's data is on the disk`);
  }
  for (const i of [10, 11, 12]) {
    const health = await etcdHealth(w, `${w.net}.${i}`);
    assert.equal((JSON.parse(health) as { health: string }).health, 'true', `etcd at ${w.net}.${i}: ${health}`);
  }
}

async function journey(w: AzureWorld): Promise<VmRow[]> {
  const created = ok(await runDirector(w.createEnvArgs, w.env), 'create-env');
  assert.match(created.stdout, /Creating foundation: azure foundation/);
  assert.match(created.stdout, /identity, gateway, foundation, stemcell, cloud-config recorded/);
  assert.ok(w.fake.state.group(RESOURCE_GROUP), 'the resource group exists');
  ok(await runDirector(['upload-release', 'release'], w.env), 'upload-release');
  ok(await runDirector(w.deployArgs, w.env), 'deploy');
  const rows = await vms(w);
  assert.deepEqual(rows.map((r) => r.instance.split('/')[0]).sort(), ['master', 'master', 'master', 'worker', 'worker', 'worker']);
  for (const r of rows) assert.equal(r.process_state, 'running', `${r.instance} is running`);
  // The masters, and only they, are members of cfcr-lb's backend pool (the vm_extension).
  const lb = w.fake.state.list('Microsoft.Network/loadBalancers', RESOURCE_GROUP).find((r) => r.name === 'cfcr-lb');
  assert.ok(lb, 'the foundation made cfcr-lb');
  const poolId = `${lb.id}/backendAddressPools/cfcr-lb-pool`.toLowerCase();
  type IpConfig = { properties?: { loadBalancerBackendAddressPools?: { id: string }[] } };
  const members = w.fake.state
    .list('Microsoft.Network/networkInterfaces', RESOURCE_GROUP)
    .filter((nic) => ((nic.body.properties.ipConfigurations ?? []) as IpConfig[]).some((c) => (c.properties?.loadBalancerBackendAddressPools ?? []).some((p) => p.id.toLowerCase() === poolId)))
    .map((nic) => nic.name.replace(/-0$/, ''))
    .sort();
  assert.deepEqual(members, rows.filter((r) => r.instance.startsWith('master/')).map((r) => agentOf(r.vm_cid)).sort());
  await assertMastersKeepEtcdOnTheirDisks(w, rows);
  assertNothingOrphaned(w, rows);
  return rows;
}

async function deleteEnvLeavesNothing(w: AzureWorld): Promise<void> {
  // named explicitly: a create-env that failed did not make itself the current environment
  ok(await runDirector(['delete-env', '-e', 'azure', '-n', '--force'], w.env), 'delete-env');
  assert.deepEqual(w.fake.state.all().map((r) => r.id), [], 'no resource left in the fake');
  assert.deepEqual(w.fake.state.listGroups().map((g) => g.name), [], 'no resource group left');
  assert.equal(w.liveVmHosts(), 0, 'no VM host process left');
}

describe('Azure journey through the CLI against the fake ARM', () => {
  let w: AzureWorld | undefined;
  after(async () => {
    await w?.stop();
  });

  test('create-env builds and records the foundation; a second run writes nothing; deploy, vms, delete-env', async () => {
    w = await startAzureWorld();
    try {
      await journey(w);
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
      assert.match(failed.stderr, /^Error: Creating the Azure foundation: Ensuring the Azure foundation in resource group 'cfcr-rg'.*InternalExecutionError/);
      assert.doesNotMatch(failed.stdout + failed.stderr, new RegExp(w.fake.clientSecret.replace(/[^A-Za-z0-9]/g, '.')), 'the client secret is never printed');
      const { foundation } = recorded(w);
      const kinds = foundation.map((id) => id.replace(/^.*\/providers\/|^\/subscriptions\/[^/]+\//, '').replace(/\/[^/]+$/, '')).sort();
      assert.deepEqual(kinds, ['Microsoft.Network/loadBalancers', 'Microsoft.Network/networkSecurityGroups', 'Microsoft.Network/networkSecurityGroups', 'Microsoft.Network/publicIPAddresses', 'Microsoft.Network/virtualNetworks', 'resourceGroups']);
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
      assert.ok((intended ?? []).some((id) => /\/virtualNetworks\/[^/]+$/i.test(id)), `the vnet is recorded as intended before its PUT (intended: ${JSON.stringify(intended)}, created: ${JSON.stringify(foundation)})`);
      await deleteEnvLeavesNothing(w);

      // killed at the load balancer, then run again: it completes, and what it intended is now recorded as created
      await killWhen('the load balancer', () => w!.fake.state.list('Microsoft.Network/loadBalancers').length > 0);
      ok(await runDirector(w.createEnvArgs, w.env), 'create-env after the kill');
      const after = recorded(w);
      assert.equal(after.intended, undefined, 'no intent left once the run completed');
      const kinds = after.foundation.map((id) => id.replace(/^.*\/providers\/|^\/subscriptions\/[^/]+\//, '').replace(/\/[^/]+$/, '').toLowerCase());
      for (const kind of ['resourcegroups', 'microsoft.network/virtualnetworks', 'microsoft.network/publicipaddresses', 'microsoft.network/loadbalancers', 'microsoft.storage/storageaccounts']) {
        assert.ok(kinds.includes(kind), `${kind} recorded as created (recorded: ${JSON.stringify(after.foundation)})`);
      }
      await deleteEnvLeavesNothing(w);
    } finally {
      await w.stop();
      w = undefined;
    }
  });

  test('the same journey with 30% throttling, 10% server errors and 5% failed async operations converges and leaks nothing', async () => {
    w = await startAzureWorld(FAULTS);
    try {
      await journey(w);
      const faults = w.fake.requestLog.entries().filter((e) => e.fault === 'throttle' || e.fault === 'serverError');
      assert.ok(faults.some((e) => e.fault === 'throttle') && faults.some((e) => e.fault === 'serverError'), 'the fake did throttle and fail requests');
      await deleteEnvLeavesNothing(w);
    } finally {
      await w.stop();
      w = undefined;
    }
  });
});
