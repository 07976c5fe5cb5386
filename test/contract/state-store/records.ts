import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { jsonSha256 } from '../../../src/state/canonical-json.js';
import { StateConflictError } from '../../../src/state/errors.js';
import type { StateBackend } from '../../helpers/state-backends.js';
import type { StateStore } from '../../../src/state/state-store.js';

export function recordsContract(backend: StateBackend): void {
  describe(`state records and their constraints (${backend.name})`, () => {
    before(() => backend.setup());
    after(() => backend.teardown());
    let location: string;
    let store: StateStore;
    let ids: number;
    beforeEach(async () => {
      location = await backend.fresh();
      ids = 0;
      store = backend.open(location, { newId: () => `id-${++ids}` });
      store.deployments.ensure('my-cluster');
      store.deployments.ensure('other');
      store.instances.create({
        deployment: 'my-cluster',
        group: 'master',
        index: 0,
        uuid: 'm0',
        az: 'z1',
        bootstrap: true,
        state: 'started',
      });
      store.instances.create({
        deployment: 'other',
        group: 'web',
        index: 0,
        uuid: 'w0',
        az: null,
        bootstrap: true,
        state: 'started',
      });
    });
    afterEach(() => {
      store.close();
    });

    it('refuses to reserve an IP twice on one network, naming who holds it', () => {
      const r = store.ips.reserve({
        deployment: 'my-cluster',
        network: 'default',
        ip: '10.0.16.10',
        instance: 'm0',
        type: 'static',
      });
      assert.deepEqual(
        { ...r, createdAt: undefined },
        {
          deployment: 'my-cluster',
          network: 'default',
          ip: '10.0.16.10',
          instance: 'm0',
          type: 'static',
          createdAt: undefined,
        },
      );
      assert.throws(
        () =>
          store.ips.reserve({
            deployment: 'other',
            network: 'default',
            ip: '10.0.16.10',
            instance: 'w0',
            type: 'dynamic',
          }),
        (err: unknown) => {
          assert.ok(err instanceof StateConflictError);
          assert.equal(
            err.message,
            "IP 10.0.16.10 on network 'default' is already reserved by instance 'master/m0' of deployment 'my-cluster' (static)",
          );
          return true;
        },
      );
      // The same address on another network is another address.
      store.ips.reserve({ deployment: 'other', network: 'private', ip: '10.0.16.10', instance: 'w0', type: 'dynamic' });
      store.ips.reserve({ deployment: 'other', network: 'default', ip: '10.0.16.11', instance: null, type: 'dynamic' });
      assert.throws(
        () =>
          store.ips.reserve({
            deployment: 'my-cluster',
            network: 'default',
            ip: '10.0.16.11',
            instance: 'm0',
            type: 'static',
          }),
        {
          message: "IP 10.0.16.11 on network 'default' is already reserved by deployment 'other' (dynamic)",
        },
      );
      assert.throws(
        () =>
          store.ips.reserve({
            deployment: 'other',
            network: 'default',
            ip: '10.0.16',
            instance: null,
            type: 'dynamic',
          }),
        {
          name: 'StateError',
          message: "Reserving IP on network 'default': '10.0.16' is not an IP address",
        },
      );
      assert.deepEqual(
        store.ips.list({ network: 'default' }).map((x) => x.ip),
        ['10.0.16.10', '10.0.16.11'],
      );
      assert.deepEqual(
        store.ips.list({ instance: 'w0' }).map((x) => `${x.network}/${x.ip}`),
        ['private/10.0.16.10'],
      );

      assert.equal(store.ips.release('default', '10.0.16.10'), true);
      store.ips.reserve({ deployment: 'other', network: 'default', ip: '10.0.16.10', instance: 'w0', type: 'static' });
      assert.equal(store.ips.releaseForInstance('w0'), 2);
      assert.deepEqual(
        store.ips.list().map((x) => x.ip),
        ['10.0.16.11'],
      );
    });

    it('versions cloud-configs, one row per change', () => {
      assert.equal(store.cloudConfigs.latest(), undefined);
      const v1 = store.cloudConfigs.update('azs: [{name: z1}]\n');
      const v2 = store.cloudConfigs.update('azs: [{name: z1}, {name: z2}]\n');
      const same = store.cloudConfigs.update('azs: [{name: z1}, {name: z2}]\n');
      assert.deepEqual([v1.version, v2.version, same.version], [1, 2, 2]);
      assert.equal(store.cloudConfigs.get(1)?.content, 'azs: [{name: z1}]\n');
      assert.equal(store.cloudConfigs.latest()?.version, 2);
      const v3 = store.cloudConfigs.update('azs: [{name: z1}]\n'); // back to the old text: still a change
      assert.equal(v3.version, 3);
      assert.deepEqual(
        store.cloudConfigs.list().map((c) => c.version),
        [1, 2, 3],
      );

      const dep = store.deployments.recordDeployed('my-cluster', 'name: my-cluster\n', 2);
      assert.equal(dep.manifest, 'name: my-cluster\n');
      assert.equal(dep.cloudConfigVersion, 2);
      assert.throws(() => store.deployments.recordDeployed('my-cluster', 'x', 9), {
        message: "Recording deployment 'my-cluster': cloud-config version 9 is not recorded",
      });
      assert.throws(() => store.deployments.recordDeployed('nope', 'x', null), {
        message: "Deployment 'nope' is not recorded",
      });
    });

    it('records the environment once, with its keys', () => {
      const env = store.environment.create({
        name: 'local',
        directorUuid: 'dir-uuid',
        cpiType: 'local',
        cpiProperties: { root: '/tmp/vms', network: { range: '127.0.10.0/24' } },
        sshKey: { privateKey: 'PRIVATE-KEY-TEXT', publicKey: 'ssh-ed25519 AAAA director' },
      });
      assert.equal(env.hostKeyCa, null);
      assert.deepEqual(env.cpiProperties, { root: '/tmp/vms', network: { range: '127.0.10.0/24' } });
      assert.throws(
        () =>
          store.environment.create({
            name: 'again',
            directorUuid: 'u',
            cpiType: 'local',
            cpiProperties: {},
            sshKey: env.sshKey,
          }),
        { name: 'StateConflictError', message: "Environment 'local' is already recorded in this state file" },
      );
      const updated = store.environment.update({
        cpiType: 'azure',
        hostKeyCa: { privateKey: 'CA-PRIVATE', publicKey: 'ca-pub' },
      });
      assert.equal(updated.cpiType, 'azure');
      assert.deepEqual(updated.cpiProperties, env.cpiProperties);
      assert.deepEqual(store.environment.get()?.hostKeyCa, { privateKey: 'CA-PRIVATE', publicKey: 'ca-pub' });
      assert.equal(store.environment.delete(), true);
      assert.throws(() => store.environment.update({ cpiType: 'x' }), {
        message: 'No environment is recorded in this state file',
      });
    });

    it('refuses duplicate stemcells, releases and instances', () => {
      store.stemcells.add({ name: 'ubuntu-jammy', version: '1.1', os: 'ubuntu-jammy', cid: 'sc-1', cpi: 'local' });
      assert.throws(
        () =>
          store.stemcells.add({ name: 'ubuntu-jammy', version: '1.1', os: 'ubuntu-jammy', cid: 'sc-2', cpi: 'local' }),
        {
          name: 'StateConflictError',
          message: "Stemcell 'ubuntu-jammy/1.1' (cid 'sc-2', CPI 'local') is already recorded",
        },
      );
      store.stemcells.add({ name: 'ubuntu-jammy', version: '1.1', os: 'ubuntu-jammy', cid: 'sc-3', cpi: 'azure' });
      assert.equal(store.stemcells.find('ubuntu-jammy', '1.1', 'azure')?.cid, 'sc-3');

      const job = {
        name: 'etcd',
        fingerprint: 'f1',
        sha1: 's1',
        blobstorePath: 'blobs/ab/f1',
        dependencies: ['etcd-bin'],
      };
      store.releases.add({ name: 'kubo', version: '0.1', jobs: [job], packages: [] });
      assert.deepEqual(store.releases.find('kubo', '0.1')?.jobs, [job]);
      assert.throws(() => store.releases.add({ name: 'kubo', version: '0.1', jobs: [], packages: [] }), {
        message: "Release 'kubo/0.1' is already recorded",
      });

      assert.throws(
        () =>
          store.instances.create({
            deployment: 'my-cluster',
            group: 'master',
            index: 0,
            uuid: 'm0-bis',
            az: null,
            bootstrap: false,
            state: 'started',
          }),
        {
          name: 'StateConflictError',
          message: "Instance 'master/0' (uuid 'm0-bis') of deployment 'my-cluster' is already recorded",
        },
      );
      assert.throws(() => store.deployments.delete('my-cluster'), {
        message: "Deleting deployment 'my-cluster': 1 instance is still recorded for it",
      });
    });

    it('keeps applied specs with the sha of their canonical JSON', () => {
      const spec = { job: { name: 'master' }, networks: { default: { ip: '10.0.16.10' } }, index: 0 };
      const inst = store.instances.setAppliedSpec('m0', spec);
      assert.deepEqual(inst.appliedSpec, spec);
      assert.equal(
        inst.appliedSpecSha,
        jsonSha256({ index: 0, networks: { default: { ip: '10.0.16.10' } }, job: { name: 'master' } }),
      );
      assert.match(inst.appliedSpecSha ?? '', /^[0-9a-f]{64}$/);
      assert.deepEqual(store.instances.setDesiredSpec('m0', { x: [1, 'two', null] }).desiredSpec, {
        x: [1, 'two', null],
      });
      assert.equal(store.instances.update('m0', { state: 'stopped' }).state, 'stopped');
      assert.throws(
        () => store.instances.setDesiredSpec('m0', { bad: Number.NaN }),
        /Writing the desired spec of instance 'm0': not valid JSON data \(bad:/,
      );
    });

    it('gives a variable a new id only when its value changes', () => {
      const a = store.variables.put('my-cluster', 'admin_password', 'pw-1');
      assert.equal(a.id, 'id-1');
      assert.equal(store.variables.put('my-cluster', 'admin_password', 'pw-1').id, 'id-1');
      assert.equal(store.variables.put('my-cluster', 'admin_password', 'pw-2').id, 'id-2');
      store.variables.put('my-cluster', 'ca', { certificate: 'C', private_key: 'K' }, 'ca-v1');
      assert.deepEqual(
        store.variables.list('my-cluster').map((v) => [v.name, v.id]),
        [
          ['admin_password', 'id-2'],
          ['ca', 'ca-v1'],
        ],
      );
      assert.throws(() => store.variables.put('nope', 'x', 'y'), { message: "Deployment 'nope' is not recorded" });
      assert.equal(store.variables.delete('my-cluster', 'ca'), true);
    });

    it('deletes a deployment with its variables and IP reservations once its instances are gone', () => {
      store.variables.put('my-cluster', 'pw', 'secret-value');
      store.ips.reserve({
        deployment: 'my-cluster',
        network: 'default',
        ip: '10.0.16.10',
        instance: 'm0',
        type: 'static',
      });
      store.ips.reserve({
        deployment: 'my-cluster',
        network: 'default',
        ip: '10.0.16.20',
        instance: null,
        type: 'static',
      });
      assert.throws(() => store.deployments.delete('my-cluster'), { name: 'StateError' });
      assert.equal(store.instances.delete('m0'), true);
      assert.deepEqual(
        store.ips.list().map((r) => r.ip),
        ['10.0.16.20'],
      );
      assert.equal(store.deployments.delete('my-cluster'), true);
      assert.equal(store.deployments.get('my-cluster'), undefined);
      assert.deepEqual(store.ips.list(), []);
      store.deployments.ensure('my-cluster');
      assert.deepEqual(store.variables.list('my-cluster'), []);
      assert.equal(store.deployments.delete('never-was'), false);
    });
  });
}
