import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { overallState } from '../../../agent/supervisor.js';
import { Semaphore } from '../../../src/agent-client/semaphore.js';

describe('overall process state', () => {
  it('is running only when every process runs, stopped when none does, failing before starting otherwise', () => {
    assert.equal(overallState([]), 'stopped');
    assert.equal(overallState(['stopped', 'stopped']), 'stopped');
    assert.equal(overallState(['running', 'running']), 'running');
    assert.equal(overallState(['running', 'starting']), 'starting');
    assert.equal(overallState(['starting', 'failing', 'running']), 'failing');
    assert.equal(overallState(['running', 'stopped']), 'failing');
  });
});

describe('Semaphore', () => {
  it('never lets more than its limit run at once, and runs every task in order of arrival', async () => {
    const sem = new Semaphore(3);
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        sem.run(async () => {
          order.push(i);
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setImmediate(r));
          active--;
        }),
      ),
    );
    assert.equal(peak, 3);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('releases its slot when a task fails', async () => {
    const sem = new Semaphore(1);
    await assert.rejects(
      sem.run(() => Promise.reject(new Error('boom'))),
      /boom/,
    );
    assert.equal(await sem.run(async () => 'next'), 'next');
    assert.throws(() => new Semaphore(0), /Semaphore limit must be a positive integer, got 0/);
  });
});
