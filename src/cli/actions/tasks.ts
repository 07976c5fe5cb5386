import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { DirectorError } from '../../errors.js';
import { formatDuration } from '../../deploy/task.js';
import type { StateStore, TaskRecord } from '../../state/index.js';
import { openExistingState, type EnvOptions } from '../context.js';
import type { CliIo } from '../io.js';
import { formatTime, printListings } from '../table.js';

function taskRow(t: TaskRecord): Record<string, string> {
  return {
    id: String(t.id),
    state: t.state,
    started_at: formatTime(t.startedAt),
    finished_at: formatTime(t.endedAt),
    user: t.user,
    deployment: t.deployment ?? '-',
    description: t.description,
    result: t.result ?? '',
  };
}

export function withStore<T>(io: CliIo, opts: EnvOptions, fn: (store: StateStore) => Promise<T> | T): Promise<T> {
  const store = openExistingState(io, opts);
  return Promise.resolve()
    .then(() => fn(store))
    .finally(() => store.close());
}

export const listTasks =
  (io: CliIo) => async (o: EnvOptions & { recent: string; deployment?: string; all?: boolean; json?: boolean }) =>
    withStore(io, o, (store) => {
      const recent = Number(o.recent);
      if (!Number.isInteger(recent) || recent < 1)
        throw new DirectorError(`Expected --recent to be a whole number of tasks, found '${o.recent}'`);
      const tasks = store.tasks.list({
        ...(o.all ? {} : { recent }),
        ...(o.deployment ? { deployment: o.deployment } : {}),
      });
      printListings(
        io.stdout,
        [
          {
            content: 'tasks',
            header: [
              ['id', 'ID'],
              ['state', 'State'],
              ['started_at', 'Started At'],
              ['finished_at', 'Finished At'],
              ['user', 'User'],
              ['deployment', 'Deployment'],
              ['description', 'Description'],
              ['result', 'Result'],
            ],
            rows: tasks.map(taskRow),
          },
        ],
        o,
      );
    });

export const showTask =
  (io: CliIo) =>
  async (
    id: string | undefined,
    o: EnvOptions & { event?: boolean; debug?: boolean; cpi?: boolean; result?: boolean; json?: boolean },
  ) =>
    withStore(io, o, (store) => {
      if (id !== undefined && !/^\d+$/.test(id)) throw new DirectorError(`Expected a task id, found '${id}'`);
      const t = id === undefined ? store.tasks.list({ recent: 1 })[0] : store.tasks.get(Number(id));
      if (!t) throw new DirectorError(id === undefined ? 'No task has run yet' : `Task ${id} does not exist`);
      if (o.debug || o.cpi) {
        for (const l of store.tasks.debugLog(t.id))
          if (!o.cpi || l.line.startsWith("CPI '")) io.stdout.write(`${l.time} ${l.line}\n`);
        return;
      }
      if (o.result) {
        io.stdout.write(`${t.result ?? ''}\n`);
        return;
      }
      const events = store.tasks.events(t.id);
      if (o.event || o.json) {
        for (const e of events) io.stdout.write(`${JSON.stringify(e)}\n`);
        return;
      }
      io.stdout.write(`Task ${t.id}\n\n`);
      const starts = new Map<string, number>();
      for (const e of events) {
        const key = `${e.stage}\u0000${e.task}`;
        const at = Date.parse(e.time);
        const head = `Task ${t.id} | ${e.time.slice(11, 19)} | ${e.stage}: ${e.task}`;
        if (e.state === 'started') {
          starts.set(key, at);
          io.stdout.write(`${head}\n`);
        } else {
          io.stdout.write(`${head} (${formatDuration(at - (starts.get(key) ?? at))})\n`);
          if (e.error)
            io.stdout.write(`${' '.repeat(head.indexOf('|', head.indexOf('|') + 1) - 1)}L Error: ${e.error}\n`);
        }
      }
      const elapsed = t.startedAt && t.endedAt ? formatDuration(Date.parse(t.endedAt) - Date.parse(t.startedAt)) : '-';
      io.stdout.write(
        `\nTask ${t.id} Started  ${t.startedAt ?? '-'}\nTask ${t.id} Finished ${t.endedAt ?? '-'}\nTask ${t.id} Duration ${elapsed}\nTask ${t.id} ${t.state}\n`,
      );
      if (t.state === 'error' && t.result) io.stdout.write(`\nError: ${t.result}\n`);
    });

export const listLocks = (io: CliIo) => async (o: EnvOptions & { json?: boolean }) =>
  withStore(io, o, (store) => {
    const locks = store.locks.list();
    printListings(
      io.stdout,
      [
        {
          content: 'locks',
          header: [
            ['type', 'Type'],
            ['resource', 'Resource'],
            ['task_id', 'Task ID'],
            ['holder', 'Holder'],
            ['expires_at', 'Expires at'],
          ],
          rows: locks.map((l) => {
            const [type, ...rest] = l.name.split(':');
            return {
              type: type ?? l.name,
              resource: rest.join(':') || '-',
              task_id: String(l.taskId),
              holder: l.holder.user
                ? `${l.holder.user}@${l.holder.hostname} pid ${l.holder.pid}`
                : `pid ${l.holder.pid} on ${l.holder.hostname}`,
              expires_at: l.expiresAt ?? '-',
            };
          }),
        },
      ],
      o,
    );
  });

/**
 * bosh cancel-task: a queued task is cancelled; a running one is interrupted in its own process
 * (found through the locks it holds, on this host), which records it cancelled and says what it
 * left, as Ctrl-C there does. A finished task is not cancellable.
 */
export const cancelTask = (io: CliIo) => async (id: string, o: EnvOptions) =>
  withStore(io, o, async (store) => {
    if (!/^\d+$/.test(id)) throw new DirectorError(`Expected a task id, found '${id}'`);
    const t = store.tasks.get(Number(id));
    if (!t) throw new DirectorError(`Task ${id} does not exist`);
    if (t.state === 'queued') {
      store.tasks.finish(t.id, 'cancelled', 'cancelled by cancel-task');
      io.stdout.write(`Task ${t.id} is cancelled\n\nSucceeded\n`);
      return;
    }
    if (t.state !== 'processing')
      throw new DirectorError(`Task ${t.id} is not in a cancellable state: it is ${t.state}`);
    const holder = store.locks.list().find((l) => l.taskId === t.id)?.holder;
    if (!holder) throw new DirectorError(`Cancelling task ${t.id}: it holds no lock that names its process`);
    if (holder.hostname !== hostname())
      throw new DirectorError(
        `Cancelling task ${t.id}: it runs on host '${holder.hostname}' (pid ${holder.pid}); cancel it there`,
      );
    try {
      process.kill(holder.pid, 'SIGINT');
    } catch (err) {
      throw new DirectorError(`Cancelling task ${t.id}: interrupting pid ${holder.pid}`, { cause: err });
    }
    for (let waited = 0; waited < 15_000; waited += 100) {
      const now = store.tasks.get(t.id);
      if (now && now.state !== 'processing') {
        io.stdout.write(`Task ${t.id} is ${now.state}${now.result ? `: ${now.result}` : ''}\n\nSucceeded\n`);
        return;
      }
      await sleep(100);
    }
    throw new DirectorError(
      `Cancelling task ${t.id}: pid ${holder.pid} was interrupted but the task is still running after 15 s`,
    );
  });
