import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveProblems, scanForProblems } from '../../../src/deploy/cloud-check.js';
import { Director } from '../../../src/deploy/director.js';
import { formatKubeconfig, kubeconfigParts } from '../../../src/deploy/kubeconfig.js';
import { Task } from '../../../src/deploy/task.js';
import { parseLocalCpiConfig } from '../../../cpi/local/config.js';
import { localEnvironmentCpi } from '../../../cpi/local/environment.js';
import { openBlobstore } from '../../../src/release/blobstore.js';
import { openStateStore, type StateStore } from '../../../src/state/index.js';
import { RecordingAgents } from '../../fakes/recording-agents.js';

let dir: string;
let store: StateStore;

/** Agents that never answer, as after a VM's host died. */
const unreachable = RecordingAgents.unreachable();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'director-cck-'));
  store = openStateStore(join(dir, 'state.db'));
  store.environment.create({
    name: 'local',
    directorUuid: 'dir-uuid',
    cpiType: 'local',
    cpiProperties: {
      root: join(dir, 'local'),
      ssh_port: 2222,
      load_balancers: { 'cfcr-lb': { address: '127.10.0.250', ports: [{ frontend: 9443, backend: 8443 }] } },
    },
    sshKey: { privateKey: 'not-a-real-key', publicKey: 'ssh-ed25519 AAAA' },
  });
});

after(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

function director(): Director {
  const environment = store.environment.get()!;
  return new Director({
    store,
    environment,
    cpi: localEnvironmentCpi(parseLocalCpiConfig(environment.cpiProperties), environment.directorUuid),
    agents: unreachable,
    blobstore: openBlobstore(join(dir, 'blobs')),
    sleep: async () => undefined,
  });
}

function task(): Task {
  const t = store.tasks.create({ description: 'cck', deployment: 'd', user: 'admin' });
  store.tasks.start(t.id);
  return new Task(t.id, store, { now: () => new Date() }, { started: () => undefined, finished: () => undefined });
}

test('cloud-check finds a missing VM, a missing disk and a VM intent, and resolves them as chosen', async () => {
  store.deployments.ensure('d');
  store.instances.create({
    deployment: 'd',
    group: 'master',
    index: 0,
    uuid: 'u0',
    az: 'z1',
    bootstrap: true,
    state: 'started',
  });
  store.instances.create({
    deployment: 'd',
    group: 'master',
    index: 1,
    uuid: 'u1',
    az: 'z2',
    bootstrap: false,
    state: 'started',
  });
  store.vms.recordIntent({
    agentId: 'a0',
    instance: 'u0',
    stemcellCid: null,
    ips: ['127.10.0.10'],
    cloudProperties: {},
    hostPublicKey: 'ssh-ed25519 AAAA',
  });
  store.vms.complete('a0', 'vm-11111111-1111-1111-1111-111111111111');
  const disk = store.disks.recordIntent({ instance: 'u0', sizeMb: 10, cloudProperties: {} });
  store.disks.complete(disk.id, 'disk-22222222-2222-2222-2222-222222222222');
  store.disks.activate('disk-22222222-2222-2222-2222-222222222222');
  store.vms.recordIntent({
    agentId: 'a1',
    instance: 'u1',
    stemcellCid: null,
    ips: ['127.10.0.11'],
    cloudProperties: {},
    hostPublicKey: 'ssh-ed25519 AAAA',
  });

  const problems = await scanForProblems(director(), 'd', { agentTimeoutMs: 1000 });
  assert.deepEqual(
    problems.map((p) => [p.id, p.type, p.description, p.recommended, p.resolutions.map((r) => r.plan)]),
    [
      [
        1,
        'missing_disk',
        "Disk 'disk-22222222-2222-2222-2222-222222222222' (master/u0, 10M) is missing",
        'ignore',
        ['Skip for now', 'Delete disk reference (DANGEROUS!)'],
      ],
      [
        2,
        'missing_vm',
        "VM for 'master/u0 (0)' with cloud ID 'vm-11111111-1111-1111-1111-111111111111' missing.",
        'recreate_vm',
        ['Skip for now', 'Recreate VM', 'Delete VM reference'],
      ],
      [
        3,
        'vm_intent',
        "VM for 'master/u1 (1)' was being created when a task ended (agent id 'a1')",
        'delete_vm',
        ['Skip for now', 'Delete VM'],
      ],
    ],
  );

  await assert.rejects(resolveProblems(director(), 'd', problems, new Map([[2, 'reboot_vm']]), task()), {
    message:
      "Problem 2 (missing_vm) has no resolution 'reboot_vm' (resolutions: ignore, recreate_vm, delete_vm_reference)",
  });
  await resolveProblems(
    director(),
    'd',
    problems,
    new Map([
      [1, 'delete_disk_reference'],
      [2, 'delete_vm_reference'],
      [3, 'delete_vm'],
    ]),
    task(),
  );
  assert.deepEqual([store.vms.listByDeployment('d').length, store.disks.listByInstance('u0').length], [0, 0]);
  assert.deepEqual(await scanForProblems(director(), 'd'), []);
});

test('kubeconfig: the load balancer frontend for the secure port, the tls-kubernetes CA, the admin token', () => {
  store.cloudConfigs.update('vm_extensions:\n- name: lb-ext\n  cloud_properties:\n    load_balancer: cfcr-lb\n');
  store.deployments.ensure('k');
  const manifest = [
    'name: k',
    'instance_groups:',
    '- name: master',
    '  vm_extensions: [lb-ext]',
    '  jobs:',
    '  - name: kube-apiserver',
    '    properties:',
    '      admin-username: admin',
    '      admin-password: ((kubo-admin-password))',
    '      k8s-args: {secure-port: 8443}',
    '',
  ].join('\n');
  store.deployments.recordDeployed('k', manifest, store.cloudConfigs.latest()!.version);
  store.variables.put('k', 'kubo-admin-password', 'sekret-token');
  store.variables.put('k', 'tls-kubernetes', { ca: 'CA PEM', certificate: 'C', private_key: 'K' });
  const parts = kubeconfigParts(store, 'k', store.environment.get()!.cpiProperties as Record<string, unknown>);
  assert.deepEqual(parts, {
    server: 'https://127.10.0.250:9443',
    ca: 'CA PEM',
    username: 'admin',
    token: 'sekret-token',
  });
  const text = formatKubeconfig('k', parts);
  assert.match(text, /server: https:\/\/127\.10\.0\.250:9443/);
  assert.match(text, new RegExp(`certificate-authority-data: ${Buffer.from('CA PEM').toString('base64')}`));
  assert.match(text, /current-context: k\n/);
  assert.throws(() => kubeconfigParts(store, 'nope', {}), { message: "Deployment 'nope' has no deployed manifest" });
});
