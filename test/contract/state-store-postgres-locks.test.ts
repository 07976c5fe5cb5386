// Locks that hold across machines: on PostgreSQL each held lock is backed by a session advisory
// lock, so a director that dies (kill -9) gives its locks back with its session, and a second
// director is refused at once with the holder named (user@host, pid, since).
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { hostname, userInfo } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LockError } from '../../src/state/errors.js';
import { deploymentLock, type StateStore } from '../../src/state/state-store.js';
import { openFromChild, postgresBackend } from '../helpers/state-backends.js';

if (process.argv[2] === '--child') {
  // A director holding a deployment's lock "mid-deploy" until the parent kills it.
  const store = openFromChild(process.argv[3] as string);
  const task = store.tasks.create({ description: 'deploy', deployment: 'a', user: 'admin' });
  store.locks.acquire(deploymentLock('a'), task.id);
  store.tasks.start(task.id);
  process.stdout.write(`locked ${task.id}\n`);
  setInterval(() => undefined, 60_000);
} else {
  const backend = postgresBackend();
  describe('locks across directors on PostgreSQL', () => {
    let url: string;
    let first: StateStore;
    let second: StateStore;
    const children: ChildProcessWithoutNullStreams[] = [];
    before(() => backend.setup());
    after(() => backend.teardown());
    beforeEach(async () => {
      url = await backend.fresh();
      first = backend.open(url);
      second = backend.open(url);
    });
    afterEach(() => {
      first.close();
      second.close();
      for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    });

    it('refuses a deployment another director holds, naming it, and lets another deployment through', () => {
      const t1 = first.tasks.create({ description: 'deploy', deployment: 'a', user: 'admin' }).id;
      const t2 = second.tasks.create({ description: 'deploy', deployment: 'a', user: 'admin' }).id;
      const t3 = second.tasks.create({ description: 'deploy', deployment: 'b', user: 'admin' }).id;
      const held = first.locks.acquire(deploymentLock('a'), t1);
      assert.equal(held.holder.user, userInfo().username);
      assert.throws(
        () => second.locks.acquire(deploymentLock('a'), t2),
        (err: unknown) => {
          assert.ok(err instanceof LockError);
          assert.match(
            err.message,
            new RegExp(
              `^Deployment 'a' is being changed by task ${t1} \\(${userInfo().username}@${hostname()}, pid ${process.pid}, since \\d\\d:\\d\\d:\\d\\d\\)$`,
            ),
          );
          return true;
        },
      );
      // The same process, another store (another session): still refused, though its pid lives.
      assert.equal(second.locks.acquire(deploymentLock('b'), t3).taskId, t3);
      // A second task of the holder's own store is refused as well.
      const t4 = first.tasks.create({ description: 'deploy', deployment: 'a', user: 'admin' }).id;
      assert.throws(() => first.locks.acquire(deploymentLock('a'), t4), LockError);
      // Released, it is free for the other director at once.
      assert.equal(first.locks.release(deploymentLock('a'), t1), true);
      assert.equal(second.locks.acquire(deploymentLock('a'), t2).taskId, t2);
    });

    it('frees the lock of a director killed with SIGKILL and ends its task as error', async () => {
      const child = spawn(
        process.execPath,
        [...process.execArgv.filter((a) => !a.startsWith('--test')), fileURLToPath(import.meta.url), '--child', url],
        {
          env: { ...withoutTestContext(), ...backend.childEnv() },
        },
      );
      children.push(child);
      const stderr: Buffer[] = [];
      child.stderr.on('data', (c: Buffer) => stderr.push(c));
      const line = await firstLine(child, () => Buffer.concat(stderr).toString());
      const held = Number(/^locked (\d+)$/.exec(line)?.[1]);
      const t2 = second.tasks.create({ description: 'deploy', deployment: 'a', user: 'admin' }).id;
      assert.throws(
        () => second.locks.acquire(deploymentLock('a'), t2),
        new RegExp(`being changed by task ${held} \\(.+, pid ${child.pid}, since`),
      );

      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGKILL');
      await exited;
      // The server ends the dead session as soon as it sees its socket close.
      let lock;
      for (let i = 0; i < 50 && lock === undefined; i++) {
        try {
          lock = second.locks.acquire(deploymentLock('a'), t2);
        } catch (err) {
          if (!(err instanceof LockError)) throw err;
          await sleep(100);
        }
      }
      assert.equal(lock?.taskId, t2);
      const old = second.tasks.get(held);
      assert.equal(old?.state, 'error');
      assert.match(
        old?.result ?? '',
        new RegExp(
          `^Task ${held} abandoned: its director \\(${userInfo().username}@${hostname()}, pid ${child.pid}\\) lost its session with the state database; lock 'deployment:a' taken over by task ${t2}$`,
        ),
      );
    });
  });
}

function withoutTestContext(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

function firstLine(child: ChildProcessWithoutNullStreams, stderr: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', (l) => {
      rl.close();
      resolve(l);
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`child exited (${code ?? signal}) before its first line: ${stderr()}`)),
    );
  });
}
