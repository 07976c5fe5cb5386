import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { StateBackend } from '../../helpers/state-backends.js';
import type { StateStore } from '../../../src/state/state-store.js';

export function tasksContract(backend: StateBackend): void {
  describe(`tasks (${backend.name})`, () => {
    before(() => backend.setup());
    after(() => backend.teardown());
    let location: string;
    let store: StateStore;
    let ticks: number;
    beforeEach(async () => {
      location = await backend.fresh();
      ticks = 0;
      // Each reading of the clock is one second later, so every timestamp is distinct.
      store = backend.open(location, { now: () => new Date(Date.UTC(2026, 10, 23, 10, 0, ticks++)) });
    });
    afterEach(() => {
      store.close();
    });

    it('runs queued → processing → done with sequential ids and timestamps', () => {
      const a = store.tasks.create({ description: 'create deployment', deployment: 'my-cluster', user: 'admin' });
      const b = store.tasks.create({ description: 'upload stemcell', user: 'admin' });
      assert.equal(b.id, a.id + 1);
      assert.deepEqual(
        { state: a.state, deployment: a.deployment, startedAt: a.startedAt, endedAt: a.endedAt, result: a.result },
        { state: 'queued', deployment: 'my-cluster', startedAt: null, endedAt: null, result: null },
      );
      const started = store.tasks.start(a.id);
      assert.equal(started.state, 'processing');
      assert.ok(started.startedAt !== null && started.startedAt > started.createdAt);
      assert.throws(() => store.tasks.start(a.id), {
        name: 'StateError',
        message: `Starting task ${a.id}: it is processing, not queued`,
      });

      const done = store.tasks.finish(a.id, 'done', '/deployments/my-cluster');
      assert.equal(done.state, 'done');
      assert.equal(done.result, '/deployments/my-cluster');
      assert.ok(done.endedAt !== null && done.endedAt > (started.startedAt ?? ''));
      assert.throws(() => store.tasks.finish(a.id, 'error', 'again'), {
        message: `Finishing task ${a.id}: it has already ended (done)`,
      });
      assert.throws(() => store.tasks.start(12345), { message: 'Starting task: task 12345 does not exist' });
    });

    it('keeps events in the order they were appended, stamped by the clock', () => {
      const t = store.tasks.create({ description: 'create deployment', deployment: 'my-cluster', user: 'admin' }).id;
      store.tasks.start(t);
      const steps = [
        { stage: 'Creating missing vms', task: 'master/uuid-1 (0)', index: 1, total: 2, state: 'started' },
        { stage: 'Creating missing vms', task: 'worker/uuid-2 (0)', index: 2, total: 2, state: 'started' },
        { stage: 'Creating missing vms', task: 'worker/uuid-2 (0)', index: 2, total: 2, state: 'finished' },
        {
          stage: 'Creating missing vms',
          task: 'master/uuid-1 (0)',
          index: 1,
          total: 2,
          state: 'failed',
          error: 'CPI error',
        },
      ] as const;
      for (const s of steps) store.tasks.event(t, { ...s, tags: ['my-cluster'], data: { step: s.task } });
      store.tasks.event(t, {
        stage: 'Updating instance',
        task: 'master/uuid-1 (0)',
        index: 1,
        total: 1,
        state: 'in_progress',
        progress: 40,
        tags: [],
      });

      const events = store.tasks.events(t);
      assert.deepEqual(
        events.map((e) => [e.seq, e.task, e.state, e.progress, e.error]),
        [
          [1, 'master/uuid-1 (0)', 'started', 0, null],
          [2, 'worker/uuid-2 (0)', 'started', 0, null],
          [3, 'worker/uuid-2 (0)', 'finished', 100, null],
          [4, 'master/uuid-1 (0)', 'failed', 100, 'CPI error'],
          [5, 'master/uuid-1 (0)', 'in_progress', 40, null],
        ],
      );
      const times = events.map((e) => e.time);
      assert.deepEqual([...times].sort(), times);
      assert.equal(new Set(times).size, times.length);
      assert.deepEqual(events[0]?.tags, ['my-cluster']);
      assert.deepEqual(events[0]?.data, { step: 'master/uuid-1 (0)' });
      assert.deepEqual(
        store.tasks.events(t, 3).map((e) => e.seq),
        [4, 5],
      );

      store.tasks.finish(t, 'error', 'Creating missing vms: CPI error');
      assert.throws(
        () => store.tasks.event(t, { stage: 's', task: 'x', index: 1, total: 1, state: 'started', tags: [] }),
        { message: `Recording an event of task ${t}: the task has already ended (error)` },
      );
      assert.throws(
        () =>
          store.tasks.event(t, {
            stage: 's',
            task: 'x',
            index: 1,
            total: 1,
            state: 'in_progress',
            progress: 140,
            tags: [],
          }),
        { message: `Recording an event of task ${t}: progress must be a whole number 0..100, got 140` },
      );
    });

    it('stores a debug log per task, with secrets redacted', () => {
      const t = store.tasks.create({ description: 'deploy', deployment: 'my-cluster', user: 'admin' }).id;
      const other = store.tasks.create({ description: 'other', user: 'admin' }).id;
      store.deployments.ensure('my-cluster');
      store.variables.put('my-cluster', 'admin_password', 'hunter2-secret');
      store.variables.put('my-cluster', 'ca', {
        certificate: 'CERT',
        private_key: '-----BEGIN KEY-----\nAAAAsecretline\n-----END KEY-----\n',
      });
      store.redact(['vars-store-token']);

      store.tasks.debug(t, 'INFO starting');
      store.tasks.debug(t, 'DEBUG password=hunter2-secret token=vars-store-token');
      store.tasks.debug(t, 'DEBUG payload {"key":"-----BEGIN KEY-----\\nAAAAsecretline\\n-----END KEY-----\\n"}');
      store.tasks.debug(t, 'DEBUG line AAAAsecretline');
      store.tasks.debug(other, 'elsewhere');
      assert.deepEqual(
        store.tasks.debugLog(t).map((l) => l.line),
        [
          'INFO starting',
          'DEBUG password=<redacted> token=<redacted>',
          'DEBUG payload {"key":"<redacted>"}',
          'DEBUG line <redacted>',
        ],
      );
      store.tasks.event(t, {
        stage: 's',
        task: 'x',
        index: 1,
        total: 1,
        state: 'failed',
        error: 'bad hunter2-secret',
        tags: [],
      });
      assert.equal(store.tasks.events(t)[0]?.error, 'bad <redacted>');
      store.tasks.event(t, {
        stage: 's',
        task: 'x',
        index: 1,
        total: 1,
        state: 'started',
        tags: [],
        data: { env: { PW: 'hunter2-secret', quote: '"hunter2-secret"' } },
      });
      assert.deepEqual(store.tasks.events(t)[1]?.data, { env: { PW: '<redacted>', quote: '"<redacted>"' } });
      assert.equal(store.tasks.finish(t, 'error', 'login hunter2-secret refused').result, 'login <redacted> refused');
    });

    it('redacts variables a fresh store only reads, not just those it wrote', () => {
      store.deployments.ensure('d');
      store.variables.put('d', 'pw', 'correct-horse');
      const path = store.path;
      store.close();
      store = backend.open(path);
      const t = store.tasks.create({ description: 'deploy', deployment: 'd', user: 'admin' }).id;
      store.tasks.debug(t, 'before reading: correct-horse');
      assert.equal(store.variables.get('d', 'pw')?.value, 'correct-horse');
      store.tasks.debug(t, 'after reading: correct-horse');
      assert.deepEqual(
        store.tasks.debugLog(t).map((l) => l.line),
        // The store only knows a secret once it has seen it: callers register theirs with redact().
        ['before reading: correct-horse', 'after reading: <redacted>'],
      );
    });

    it('lists recent tasks newest first, by deployment and state', () => {
      const ids: number[] = [];
      for (const dep of ['a', 'b', 'a', null, 'a'])
        ids.push(store.tasks.create({ description: 'x', deployment: dep, user: 'admin' }).id);
      const [t1, t2, t3, t4, t5] = ids as [number, number, number, number, number];
      store.tasks.start(t1);
      store.tasks.finish(t1, 'done', '');
      store.tasks.start(t3);
      store.tasks.finish(t5, 'cancelled', 'cancelled by admin');

      assert.deepEqual(
        store.tasks.list().map((t) => t.id),
        [t5, t4, t3, t2, t1],
      );
      assert.deepEqual(
        store.tasks.list({ recent: 2 }).map((t) => t.id),
        [t5, t4],
      );
      assert.deepEqual(
        store.tasks.list({ deployment: 'a' }).map((t) => t.id),
        [t5, t3, t1],
      );
      assert.deepEqual(
        store.tasks.list({ states: ['queued', 'processing'] }).map((t) => t.id),
        [t4, t3, t2],
      );
      assert.deepEqual(
        store.tasks.list({ deployment: 'a', states: ['done', 'cancelled'], recent: 1 }).map((t) => t.id),
        [t5],
      );
    });
  });
}
