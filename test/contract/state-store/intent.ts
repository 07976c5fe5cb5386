import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { StateConflictError, StateError } from '../../../src/state/errors.js';
import { openFromChild, type StateBackend } from '../../helpers/state-backends.js';
import type { StateStore } from '../../../src/state/state-store.js';

/** Seeds a deployment with one instance, the way the deploy step would before creating its VM. */
function seed(store: StateStore): void {
  store.deployments.ensure('my-cluster');
  store.instances.create({
    deployment: 'my-cluster',
    group: 'master',
    index: 0,
    uuid: 'uuid-m0',
    az: 'z1',
    bootstrap: true,
    state: 'started',
  });
}

const vmIntent = (agentId: string) => ({
  agentId,
  instance: 'uuid-m0',
  stemcellCid: 'sc-1',
  ips: ['127.0.10.2'],
  cloudProperties: { cpu: 2 },
  hostPublicKey: 'ssh-ed25519 AAAAhost',
});

// --- The child: started by the crash test below with this very file as its entry point. ---
if (process.argv[2] === '--child') {
  const store = openFromChild(process.argv[3] as string);
  seed(store);
  store.vms.recordIntent(vmIntent('agent-new'));
  store.disks.recordIntent({ instance: 'uuid-m0', sizeMb: 1024, cloudProperties: {} });
  store.vms.recordIntent(vmIntent('agent-old'));
  store.vms.complete('agent-old', 'vm-old');
  store.vms.markDeleting('vm-old');
  // Now "calling the CPI": the parent kills us with SIGKILL while we wait.
  process.stdout.write('ready\n');
  setInterval(() => undefined, 60_000);
}

export function intentContract(backend: StateBackend): void {
  describe(`intent rule: VMs and disks are recorded before the CPI creates them (${backend.name})`, () => {
    before(() => backend.setup());
    after(() => backend.teardown());
    let store: StateStore;
    const children: ChildProcessWithoutNullStreams[] = [];
    beforeEach(async () => {
      store = backend.open(await backend.fresh());
    });
    afterEach(() => {
      store.close();
      for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    });

    it('records a VM intent and completes it with its cid', () => {
      seed(store);
      const intent = store.vms.recordIntent(vmIntent('agent-1'));
      assert.equal(intent.state, 'intent');
      assert.equal(intent.cid, null);
      assert.equal(intent.instance, 'uuid-m0');
      assert.equal(intent.deployment, 'my-cluster');
      assert.deepEqual(
        store.vms.listIncomplete().map((v) => v.agentId),
        ['agent-1'],
      );

      const vm = store.vms.complete('agent-1', 'vm-cid-1');
      assert.equal(vm.state, 'created');
      assert.equal(vm.cid, 'vm-cid-1');
      assert.deepEqual(vm.ips, ['127.0.10.2']);
      assert.deepEqual(vm.cloudProperties, { cpu: 2 });
      assert.equal(vm.hostPublicKey, 'ssh-ed25519 AAAAhost');
      assert.deepEqual(store.vms.listIncomplete(), []);
      assert.deepEqual(
        store.vms.listByDeployment('my-cluster').map((v) => v.cid),
        ['vm-cid-1'],
      );

      assert.equal(store.vms.markDeleting('vm-cid-1').state, 'deleting');
      assert.deepEqual(
        store.vms.listIncomplete().map((v) => v.cid),
        ['vm-cid-1'],
      );
      assert.equal(store.vms.remove('vm-cid-1'), true);
      assert.deepEqual(store.vms.list(), []);
    });

    it('drops the intent of a VM whose creation failed', () => {
      seed(store);
      store.vms.recordIntent(vmIntent('agent-1'));
      store.vms.fail('agent-1');
      assert.equal(store.vms.findByAgentId('agent-1'), undefined);
      assert.throws(() => store.vms.fail('agent-1'), {
        name: 'StateError',
        message: "No VM intent with agent id 'agent-1' is recorded",
      });
    });

    it('refuses to complete what is not an intent, or to reuse an agent id or cid', () => {
      seed(store);
      assert.throws(() => store.vms.complete('agent-x', 'vm-x'), {
        message: "Completing VM 'vm-x': no VM intent with agent id 'agent-x' is recorded",
      });
      store.vms.recordIntent(vmIntent('agent-1'));
      assert.throws(() => store.vms.recordIntent(vmIntent('agent-1')), StateConflictError);
      store.vms.complete('agent-1', 'vm-1');
      assert.throws(() => store.vms.complete('agent-1', 'vm-1'), {
        message: "Completing VM 'vm-1': no VM intent with agent id 'agent-1' is recorded (it is created)",
      });
      store.vms.recordIntent(vmIntent('agent-2'));
      assert.throws(() => store.vms.complete('agent-2', 'vm-1'), {
        name: 'StateConflictError',
        message: "Completing VM 'vm-1': a VM with that cid is already recorded",
      });
      assert.throws(() => store.vms.recordIntent({ ...vmIntent('agent-3'), instance: 'nope' }), {
        message: "Instance 'nope' is not recorded",
      });
    });

    it('walks a disk from intent through attach, activation and orphaning to deletion', () => {
      seed(store);
      const intent = store.disks.recordIntent({
        instance: 'uuid-m0',
        sizeMb: 10240,
        cloudProperties: { type: 'Premium_LRS' },
      });
      assert.equal(intent.state, 'intent');
      assert.deepEqual(
        store.disks.listIncomplete().map((d) => d.id),
        [intent.id],
      );
      const disk = store.disks.complete(intent.id, 'disk-1');
      assert.equal(disk.state, 'detached');
      assert.equal(disk.active, false);
      assert.deepEqual(store.disks.listIncomplete(), []);
      assert.equal(store.disks.markAttached('disk-1').state, 'attached');
      assert.equal(store.disks.activate('disk-1').active, true);

      // A bigger disk replaces it: the new one becomes active, the old one is orphaned.
      const bigger = store.disks.recordIntent({ instance: 'uuid-m0', sizeMb: 20480, cloudProperties: {} });
      store.disks.complete(bigger.id, 'disk-2');
      store.disks.activate('disk-2');
      assert.deepEqual(
        store.disks.listByInstance('uuid-m0').map((d) => [d.cid, d.active]),
        [
          ['disk-1', false],
          ['disk-2', true],
        ],
      );
      assert.throws(() => store.disks.orphan('disk-1'), {
        message: "Orphaning disk 'disk-1': it must be detached from an instance first (it is attached)",
      });
      store.disks.markDetached('disk-1');
      const orphan = store.disks.orphan('disk-1');
      assert.deepEqual(
        { ...orphan, orphanedAt: undefined },
        {
          cid: 'disk-1',
          deployment: 'my-cluster',
          instance: 'master/uuid-m0',
          az: 'z1',
          sizeMb: 10240,
          cloudProperties: { type: 'Premium_LRS' },
          orphanedAt: undefined,
        },
      );
      assert.equal(store.disks.get('disk-1')?.state, 'orphaned');
      assert.deepEqual(
        store.disks.listByInstance('uuid-m0').map((d) => d.cid),
        ['disk-2'],
      );
      assert.throws(() => store.disks.markAttached('disk-1'), { message: "Attaching disk 'disk-1': it is orphaned" });
      assert.equal(store.disks.remove('disk-1'), true);
      assert.deepEqual(store.disks.listOrphaned(), []);
      assert.equal(store.disks.get('disk-1'), undefined);
    });

    it('refuses to forget an instance that still has VMs or disks', () => {
      seed(store);
      store.vms.recordIntent(vmIntent('agent-1'));
      assert.throws(() => store.instances.delete('uuid-m0'), {
        message: "Deleting instance 'master/uuid-m0': 1 VM(s) and 0 disk(s) are still recorded for it",
      });
      store.vms.fail('agent-1');
      assert.equal(store.instances.delete('uuid-m0'), true);
    });

    it('keeps the intent when the process dies mid-operation, for the next run to find', async () => {
      const path = await backend.fresh();
      const child = spawn(process.execPath, [...childExecArgv(), fileURLToPath(import.meta.url), '--child', path], {
        env: { ...childEnv(), ...backend.childEnv() },
      });
      children.push(child);
      const stderr: Buffer[] = [];
      child.stderr.on('data', (c: Buffer) => stderr.push(c));
      await waitForLine(child, 'ready', () => Buffer.concat(stderr).toString());
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGKILL');
      await exited;

      const next = backend.open(path);
      try {
        const incomplete = next.vms.listIncomplete();
        assert.deepEqual(
          incomplete.map((v) => [v.agentId, v.state, v.cid, v.instance]),
          [
            ['agent-new', 'intent', null, 'uuid-m0'],
            ['agent-old', 'deleting', 'vm-old', 'uuid-m0'],
          ],
        );
        assert.deepEqual(
          next.disks.listIncomplete().map((d) => [d.state, d.instance, d.sizeMb]),
          [['intent', 'uuid-m0', 1024]],
        );
        // The next run finishes what it finds: the VM turned out to exist, the old one is gone.
        next.vms.complete('agent-new', 'vm-new');
        next.vms.remove('vm-old');
        assert.deepEqual(next.vms.listIncomplete(), []);
      } finally {
        next.close();
      }
    });

    it('rolls back every change of a failed transaction', () => {
      seed(store);
      assert.throws(
        () =>
          store.transaction(() => {
            store.vms.recordIntent(vmIntent('agent-1'));
            store.ips.reserve({
              deployment: 'my-cluster',
              network: 'default',
              ip: '127.0.10.2',
              instance: 'uuid-m0',
              type: 'static',
            });
            throw new StateError('boom');
          }),
        { message: 'boom' },
      );
      assert.equal(store.vms.findByAgentId('agent-1'), undefined);
      assert.deepEqual(store.ips.list(), []);
    });
  });
}

/** The runtime flags of this process that a child needs (tsx's loader under tsx, none from dist). */
function childExecArgv(): string[] {
  return process.execArgv.filter((a) => !a.startsWith('--test'));
}

function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

function waitForLine(child: ChildProcessWithoutNullStreams, line: string, stderr: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.on('line', (l) => {
      if (l === line) {
        rl.close();
        resolve();
      }
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`child exited (${code ?? signal}) before '${line}': ${stderr()}`)),
    );
  });
}
