import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cpi } from '../../../cpi/contract.js';
import { deleteDeployment } from '../../../src/deploy/delete-deployment.js';
import { Director } from '../../../src/deploy/director.js';
import { Task } from '../../../src/deploy/task.js';
import { parseLocalCpiConfig } from '../../../cpi/local/config.js';
import { localEnvironmentCpi } from '../../../cpi/local/environment.js';
import { formatErrorChain } from '../../../src/errors.js';
import { openBlobstore } from '../../../src/release/blobstore.js';
import { openStateStore, type StateStore } from '../../../src/state/index.js';
import { RecordingAgents } from '../../fakes/recording-agents.js';

let dir: string;
let store: StateStore;
const VM = 'vm-33333333-3333-3333-3333-333333333333';

/** Agents that never answer, as after a VM's host died. */
const unreachable = RecordingAgents.unreachable();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'director-deld-'));
  store = openStateStore(join(dir, 'state.db'));
  store.environment.create({
    name: 'local',
    directorUuid: 'dir-uuid',
    cpiType: 'local',
    cpiProperties: { root: join(dir, 'local'), ssh_port: 2222, load_balancers: {} },
    sshKey: { privateKey: 'x', publicKey: 'y' },
  });
});

after(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

/** The real local CPI, except that delete_vm fails (as a cloud API that keeps refusing would). */
function director(failDeleteVm: boolean): { director: Director; cpi: Cpi } {
  const environment = store.environment.get()!;
  const envCpi = localEnvironmentCpi(parseLocalCpiConfig(environment.cpiProperties), environment.directorUuid);
  const cpi: Cpi = failDeleteVm
    ? new Proxy(envCpi.cpi, {
        get: (t, prop, r) =>
          prop === 'deleteVm'
            ? async () => {
                throw new Error('delete_vm refused');
              }
            : (Reflect.get(t, prop, r) as unknown),
      })
    : envCpi.cpi;
  const d = new Director({
    store,
    environment,
    cpi: { ...envCpi, cpi },
    agents: unreachable,
    blobstore: openBlobstore(join(dir, 'blobs')),
    sleep: async () => undefined,
  });
  return { director: d, cpi: envCpi.cpi };
}

function task(): Task {
  const t = store.tasks.create({ description: 'delete deployment d', deployment: 'd', user: 'admin' });
  store.tasks.start(t.id);
  return new Task(t.id, store, { now: () => new Date() }, { started: () => undefined, finished: () => undefined });
}

test('delete-deployment stops at a CPI error with the chain and the state naming what is left; --force carries on', async () => {
  const { cpi } = director(false);
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
  store.ips.reserve({ deployment: 'd', network: 'default', ip: '127.10.0.10', instance: 'u0', type: 'static' });
  store.vms.recordIntent({
    agentId: 'a0',
    instance: 'u0',
    stemcellCid: null,
    ips: ['127.10.0.10'],
    cloudProperties: {},
    hostPublicKey: 'ssh-ed25519 AAAA',
  });
  store.vms.complete('a0', VM);
  const diskCid = await cpi.createDisk(10, {});
  const intent = store.disks.recordIntent({ instance: 'u0', sizeMb: 10, cloudProperties: {} });
  store.disks.complete(intent.id, diskCid);
  store.disks.activate(diskCid);
  store.variables.put('d', 'admin-password', 'sekret');

  const failing = director(true).director;
  const err = await deleteDeployment(failing, 'd', task()).then(
    () => assert.fail('expected an error'),
    (e: unknown) => e,
  );
  assert.equal(formatErrorChain(err), "Deleting instance 'master/u0 (0)': Deleting VM: delete_vm refused");
  assert.equal(store.vms.get(VM)?.state, 'deleting');
  assert.ok(store.deployments.get('d'));
  assert.equal(await cpi.hasDisk(diskCid), true);

  await deleteDeployment(failing, 'd', task(), { force: true });
  assert.equal(store.deployments.get('d'), undefined);
  assert.deepEqual(
    [
      store.vms.list().length,
      store.ips.list().length,
      store.variables.list('d').length,
      store.disks.listOrphaned().length,
      store.instances.list('d').length,
    ],
    [0, 0, 0, 0, 0],
  );
  assert.equal(await cpi.hasDisk(diskCid), false, 'the orphaned disk is deleted from the cloud');
});
