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
  (io: CliIo) =>
  async (o: EnvOptions & { recent: string; deployment?: string; all?: boolean; json?: boolean }) =>
    withStore(io, o, (store) => {
      const tasks = store.tasks.list({ ...(o.all ? {} : { recent: Number(o.recent) }), ...(o.deployment ? { deployment: o.deployment } : {}) });
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
  async (id: string, o: EnvOptions & { event?: boolean; debug?: boolean; json?: boolean }) =>
    withStore(io, o, (store) => {
      const t = store.tasks.get(Number(id));
      if (!t) throw new DirectorError(`Task ${id} does not exist`);
      if (o.debug) {
        for (const l of store.tasks.debugLog(t.id)) io.stdout.write(`${l.time} ${l.line}\n`);
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
          if (e.error) io.stdout.write(`${' '.repeat(head.indexOf('|', head.indexOf('|') + 1) - 1)}L Error: ${e.error}\n`);
        }
      }
      const elapsed = t.startedAt && t.endedAt ? formatDuration(Date.parse(t.endedAt) - Date.parse(t.startedAt)) : '-';
      io.stdout.write(`\nTask ${t.id} Started  ${t.startedAt ?? '-'}\nTask ${t.id} Finished ${t.endedAt ?? '-'}\nTask ${t.id} Duration ${elapsed}\nTask ${t.id} ${t.state}\n`);
      if (t.state === 'error' && t.result) io.stdout.write(`\nError: ${t.result}\n`);
    });

export const listLocks =
  (io: CliIo) =>
  async (o: EnvOptions & { json?: boolean }) =>
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
              return { type: type ?? l.name, resource: rest.join(':') || '-', task_id: String(l.taskId), holder: `pid ${l.holder.pid} on ${l.holder.hostname}`, expires_at: l.expiresAt ?? '-' };
            }),
          },
        ],
        o,
      );
    });
