import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LockError } from '../../../src/state/errors.js';
import { processStartTime } from '../../../src/state/process-probe.js';
import { openStateStore } from '../../../src/state/sqlite-state-store.js';
import { deploymentLock, ENVIRONMENT_LOCK, type StateStore } from '../../../src/state/state-store.js';

// --- Children: this file is also their entry point. ---
if (process.argv[2] === '--child') {
  const [, , , role, path, task, rounds] = process.argv as string[];
  const store = openStateStore(path as string);
  const taskId = Number(task);
  const lines = createInterface({ input: process.stdin });
  if (role === 'hold') {
    store.locks.acquire(deploymentLock('my-cluster'), taskId);
    process.stdout.write('locked\n');
    setInterval(() => undefined, 60_000); // "deploying" until the parent kills us
  } else {
    process.stdout.write('ready\n');
    lines.on('line', (line) => {
      if (line === 'go') {
        const results: { won: boolean; message?: string }[] = [];
        for (let r = 1; r <= Number(rounds); r++) {
          try {
            store.locks.acquire(deploymentLock(`race-${r}`), taskId);
            results.push({ won: true });
          } catch (err) {
            if (!(err instanceof LockError)) throw err;
            results.push({ won: false, message: err.message });
          }
        }
        process.stdout.write(`result ${JSON.stringify(results)}\n`);
      } else if (line === 'exit') {
        store.close();
        process.exit(0);
      }
    });
  }
} else {
  describe('locks', () => {
    let dir: string;
    let path: string;
    let clock: Date;
    let store: StateStore;
    const children: ChildProcessWithoutNullStreams[] = [];
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'director-state-'));
      path = join(dir, 'state.db');
      clock = new Date('2026-11-23T10:01:02.500Z');
      store = openStateStore(path, { now: () => clock });
    });
    afterEach(() => {
      store.close();
      for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });
    const newTask = (deployment = 'my-cluster') =>
      store.tasks.create({ description: 'create deployment', deployment, user: 'admin' }).id;
    const elsewhere = { pid: 1234, hostname: 'x', processStart: null };

    it('names the holding task, its process and since when', () => {
      const t1 = newTask();
      const t2 = newTask();
      store.locks.acquire(deploymentLock('my-cluster'), t1, { holder: elsewhere });
      assert.throws(
        () => store.locks.acquire(deploymentLock('my-cluster'), t2),
        (err: unknown) => {
          assert.ok(err instanceof LockError);
          assert.equal(
            err.message,
            `Deployment 'my-cluster' is being changed by task ${t1} (pid 1234 on host x, since 10:01:02)`,
          );
          assert.deepEqual(err.holder, {
            lockName: 'deployment:my-cluster',
            taskId: t1,
            pid: 1234,
            hostname: 'x',
            acquiredAt: '2026-11-23T10:01:02.500Z',
          });
          return true;
        },
      );
      store.locks.acquire(ENVIRONMENT_LOCK, t1, { holder: elsewhere });
      assert.throws(() => store.locks.acquire(ENVIRONMENT_LOCK, t2), {
        name: 'LockError',
        message: `Environment is being changed by task ${t1} (pid 1234 on host x, since 10:01:02)`,
      });
      // The loser changed nothing.
      assert.deepEqual(
        store.locks.list().map((l) => [l.name, l.taskId]),
        [
          ['deployment:my-cluster', t1],
          ['environment', t1],
        ],
      );
    });

    it('lets one task hold one lock per deployment, and re-acquire its own', () => {
      const t1 = newTask();
      const t2 = newTask('other');
      store.locks.acquire(deploymentLock('my-cluster'), t1);
      store.locks.acquire(deploymentLock('other'), t2);
      assert.equal(store.locks.acquire(deploymentLock('my-cluster'), t1).taskId, t1);
      assert.equal(store.locks.release(deploymentLock('my-cluster'), t2), false);
      assert.equal(store.locks.release(deploymentLock('my-cluster'), t1), true);
      assert.equal(store.locks.get(deploymentLock('my-cluster')), undefined);
    });

    it('releases a lock when its task finishes, and refuses locks to ended tasks', () => {
      const t1 = newTask();
      store.tasks.start(t1);
      store.locks.acquire(deploymentLock('my-cluster'), t1);
      store.locks.acquire(ENVIRONMENT_LOCK, t1);
      store.tasks.finish(t1, 'done', 'ok');
      assert.deepEqual(store.locks.list(), []);
      assert.throws(() => store.locks.acquire(ENVIRONMENT_LOCK, t1), {
        message: `Acquiring lock 'environment': task ${t1} has already ended (done)`,
      });
      assert.throws(() => store.locks.acquire(ENVIRONMENT_LOCK, 999), {
        message: "Acquiring lock 'environment': task 999 does not exist",
      });
    });

    it('withLock releases the lock when the work fails', async () => {
      const t1 = newTask();
      const seen = await store.locks.withLock(
        deploymentLock('my-cluster'),
        t1,
        () => store.locks.get(deploymentLock('my-cluster'))?.taskId,
      );
      assert.equal(seen, t1);
      assert.deepEqual(store.locks.list(), []);
      await assert.rejects(
        store.locks.withLock(deploymentLock('my-cluster'), t1, async () => {
          throw new Error('deploy failed');
        }),
        { message: 'deploy failed' },
      );
      assert.deepEqual(store.locks.list(), []);
    });

    it('takes over a lock whose pid now belongs to another process', () => {
      const t1 = newTask();
      const t2 = newTask();
      store.tasks.start(t1);
      // Our own pid, but "started" at another time: the holder died and its pid was reused.
      const start = processStartTime(process.pid);
      assert.notEqual(start, null, 'this test needs /proc');
      store.locks.acquire(deploymentLock('my-cluster'), t1, {
        holder: { pid: process.pid, hostname: hostname(), processStart: `${start}9` },
      });
      const lock = store.locks.acquire(deploymentLock('my-cluster'), t2);
      assert.equal(lock.taskId, t2);
      assert.equal(store.tasks.get(t1)?.state, 'error');
    });

    it('keeps a live holder on this host, takes over an expired lock from another host', () => {
      const t1 = newTask();
      const t2 = newTask();
      store.locks.acquire(deploymentLock('my-cluster'), t1); // this very process: alive
      assert.throws(() => store.locks.acquire(deploymentLock('my-cluster'), t2), LockError);
      store.locks.release(deploymentLock('my-cluster'), t1);

      store.locks.acquire(deploymentLock('my-cluster'), t1, { holder: elsewhere, ttlMs: 60_000 });
      clock = new Date(clock.getTime() + 59_000);
      assert.throws(() => store.locks.acquire(deploymentLock('my-cluster'), t2), LockError);
      store.locks.renew(deploymentLock('my-cluster'), t1, 60_000);
      clock = new Date(clock.getTime() + 59_000);
      assert.throws(() => store.locks.acquire(deploymentLock('my-cluster'), t2), LockError);
      clock = new Date(clock.getTime() + 2_000);
      assert.equal(store.locks.acquire(deploymentLock('my-cluster'), t2).taskId, t2);
      assert.equal(store.tasks.get(t1)?.state, 'error');
      assert.equal(
        store.tasks.get(t1)?.result,
        `Task ${t1} abandoned: its lock expired at 2026-11-23T10:03:01.500Z; lock 'deployment:my-cluster' taken over by task ${t2}`,
      );
    });

    it('gives each lock to exactly one of two processes racing for it', async () => {
      const rounds = 25;
      const tasks = [newTask(), newTask()];
      const racers = tasks.map((t) => startChild(['race', path, String(t), String(rounds)]));
      await Promise.all(racers.map((c) => c.line('ready')));
      for (const c of racers) c.proc.stdin.write('go\n');
      const results = await Promise.all(
        racers.map(
          async (c) =>
            JSON.parse((await c.line(/^result /)).slice('result '.length)) as { won: boolean; message?: string }[],
        ),
      );
      for (let r = 0; r < rounds; r++) {
        const [a, b] = results.map((res) => res[r]);
        assert.ok(a && b);
        assert.equal(Number(a.won) + Number(b.won), 1, `round ${r + 1}: exactly one winner`);
        const [winner, loser] = a.won ? [0, 1] : [1, 0];
        const holder = store.locks.get(deploymentLock(`race-${r + 1}`));
        assert.equal(holder?.taskId, tasks[winner]);
        assert.equal(holder?.holder.pid, racers[winner]?.proc.pid);
        assert.match(
          results[loser]?.[r]?.message ?? '',
          new RegExp(
            `^Deployment 'race-${r + 1}' is being changed by task ${tasks[winner]} \\(${userInfo().username}@${hostname()}, pid ${racers[winner]?.proc.pid}, since \\d\\d:\\d\\d:\\d\\d\\)$`,
          ),
        );
      }
      await Promise.all(racers.map((c) => c.exit('exit\n')));
    });

    it('takes over the lock of a holder killed with SIGKILL and ends its task as error', async () => {
      const t1 = newTask();
      store.tasks.start(t1);
      const holder = startChild(['hold', path, String(t1)]);
      await holder.line('locked');
      const t2 = newTask();
      assert.throws(() => store.locks.acquire(deploymentLock('my-cluster'), t2), {
        name: 'LockError',
        message: new RegExp(
          `^Deployment 'my-cluster' is being changed by task ${t1} \\(${userInfo().username}@${hostname()}, pid ${holder.proc.pid}, since `,
        ),
      });

      await holder.kill();
      const lock = store.locks.acquire(deploymentLock('my-cluster'), t2);
      assert.equal(lock.taskId, t2);
      assert.equal(lock.holder.pid, process.pid);
      const note = `Task ${t1} abandoned: its process ${holder.proc.pid} on host ${hostname()} is gone; lock 'deployment:my-cluster' taken over by task ${t2}`;
      const old = store.tasks.get(t1);
      assert.equal(old?.state, 'error');
      assert.equal(old?.result, note);
      assert.deepEqual(
        store.tasks.debugLog(t2).map((l) => l.line),
        [note],
      );
    });

    interface Child {
      readonly proc: ChildProcessWithoutNullStreams;
      line(match: string | RegExp): Promise<string>;
      exit(command: string): Promise<void>;
      kill(): Promise<void>;
    }

    function startChild(args: readonly string[]): Child {
      const env = { ...process.env };
      delete env.NODE_TEST_CONTEXT;
      const execArgv = process.execArgv.filter((a) => !a.startsWith('--test'));
      const proc = spawn(process.execPath, [...execArgv, fileURLToPath(import.meta.url), '--child', ...args], { env });
      children.push(proc);
      const stderr: Buffer[] = [];
      proc.stderr.on('data', (c: Buffer) => stderr.push(c));
      const seen: string[] = [];
      const waiters: { match: string | RegExp; resolve: (l: string) => void }[] = [];
      createInterface({ input: proc.stdout }).on('line', (l) => {
        const i = waiters.findIndex((w) => (typeof w.match === 'string' ? w.match === l : w.match.test(l)));
        if (i >= 0) waiters.splice(i, 1)[0]?.resolve(l);
        else seen.push(l);
      });
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      return {
        proc,
        line: (match) =>
          new Promise((resolve, reject) => {
            const i = seen.findIndex((l) => (typeof match === 'string' ? match === l : match.test(l)));
            if (i >= 0) return resolve(seen.splice(i, 1)[0] as string);
            waiters.push({ match, resolve });
            proc.once('exit', (code, signal) =>
              reject(
                new Error(
                  `child exited (${code ?? signal}) waiting for ${String(match)}: ${Buffer.concat(stderr).toString()}`,
                ),
              ),
            );
          }),
        exit: async (command) => {
          proc.stdin.write(command);
          await exited;
          assert.equal(proc.exitCode, 0, Buffer.concat(stderr).toString());
        },
        kill: async () => {
          proc.kill('SIGKILL');
          await exited;
        },
      };
    }
  });
}
