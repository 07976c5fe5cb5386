import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { stateListing } from '../../../src/state/listing.js';
import type { StateStore } from '../../../src/state/state-store.js';
import type { StateBackend } from '../../helpers/state-backends.js';

/** A state with something in every table a listing shows. */
function fill(store: StateStore): void {
  store.environment.create({
    name: 'env',
    directorUuid: 'uuid-1',
    cpiType: 'local',
    cpiProperties: { ssh_port: 2222 },
    sshKey: { privateKey: 'PRIVATE-KEY-TEXT', publicKey: 'ssh-ed25519 AAAA' },
  });
  store.cloudConfigs.update('azs: [{name: z1}]');
  store.cloudConfigs.update('azs: [{name: z1}, {name: z2}]');
  store.stemcells.add({ name: 'ubuntu', version: '1.0', os: 'ubuntu-jammy', cid: 'sc-1', cpi: 'local' });
  store.releases.add({
    name: 'cfcr',
    version: '1',
    jobs: [{ name: 'etcd', fingerprint: 'f', sha1: 's', blobstorePath: 'a'.repeat(64), dependencies: [] }],
    packages: [],
  });
  for (const d of ['alpha', 'Beta', 'alpha-2']) {
    store.deployments.ensure(d);
    store.deployments.recordDeployed(d, `name: ${d}`, 2);
    store.variables.put(d, 'admin_password', `secret-of-${d}`);
    store.instances.create({
      deployment: d,
      group: 'master',
      index: 0,
      uuid: `${d}-m0`,
      az: 'z1',
      bootstrap: true,
      state: 'started',
    });
    store.instances.setAppliedSpec(`${d}-m0`, { job: 'master', n: 1 });
    store.vms.recordIntent({
      agentId: `agent-${d}`,
      instance: `${d}-m0`,
      stemcellCid: 'sc-1',
      ips: ['127.10.0.2'],
      cloudProperties: {},
      hostPublicKey: null,
    });
    store.vms.complete(`agent-${d}`, `vm-${d}`);
    const disk = store.disks.recordIntent({ instance: `${d}-m0`, sizeMb: 1024, cloudProperties: {} });
    store.disks.complete(disk.id, `disk-${d}`);
    store.disks.markAttached(`disk-${d}`);
    store.ips.reserve({ deployment: d, network: `net-${d}`, ip: '127.10.0.2', instance: `${d}-m0`, type: 'static' });
    const t = store.tasks.create({ description: 'create deployment', deployment: d, user: 'admin' }).id;
    store.tasks.start(t);
    store.tasks.event(t, {
      stage: 'Updating instance',
      tags: [],
      index: 1,
      total: 1,
      task: 'master/0',
      state: 'started',
    });
    store.tasks.debug(t, 'a debug line');
    store.tasks.finish(t, 'done', 'ok');
  }
  const spare = store.disks.recordIntent({ instance: 'alpha-m0', sizeMb: 10, cloudProperties: {} });
  store.disks.complete(spare.id, 'disk-spare');
  store.disks.orphan('disk-spare');
}

/** Moving a whole state from one backend to another keeps every record and every listing. */
export function moveContract(source: StateBackend, target: StateBackend): void {
  describe(`moving a state from ${source.name} to ${target.name}`, () => {
    before(async () => {
      await source.setup();
      await target.setup();
    });
    after(async () => {
      await source.teardown();
      await target.teardown();
    });

    it('copies every record with its ids and times, and the copy lists as the source does', async () => {
      const from = source.open(await source.fresh());
      const to = target.open(await target.fresh());
      try {
        fill(from);
        to.restore(from.snapshot());
        assert.deepEqual(stateListing(to), stateListing(from));
        assert.deepEqual(to.snapshot().tables, from.snapshot().tables);
        // New records continue after the copied ids.
        const last = from.tasks.list()[0]?.id ?? 0;
        assert.equal(to.tasks.create({ description: 'next', user: 'admin' }).id, last + 1);
        assert.equal(to.cloudConfigs.update('azs: []').version, 3);
        // A state that is not empty is refused, and left as it was.
        const before = to.snapshot();
        assert.throws(() => to.restore(from.snapshot()), /it is not empty \(table environment has 1 row\)/);
        assert.deepEqual(to.snapshot(), before);
        assert.throws(() => to.restore({ ...from.snapshot(), schemaVersion: 99 }), /the export has schema version 99/);
      } finally {
        from.close();
        to.close();
      }
    });
  });
}
