import { hostname } from 'node:os';
import type { Writable } from 'node:stream';
import { formatErrorChain } from '../errors.js';
import { formatDuration, Task, type Clock, type TaskListener } from '../deploy/task.js';
import { processStartTime, type StateStore } from '../state/index.js';

function hhmmss(d: Date): string {
  return d.toISOString().slice(11, 19);
}

/** Prints task events the way bosh-cli does without a terminal: one line per start and end. */
export function taskPrinter(out: Writable, taskId: number): TaskListener {
  const line = (e: { stage: string; task: string; time: Date }) => `Task ${taskId} | ${hhmmss(e.time)} | ${e.stage}: ${e.task}`;
  return {
    started: (e) => out.write(`${line(e)}\n`),
    finished: (e) => {
      out.write(`${line(e)} (${formatDuration(e.elapsedMs)})\n`);
      if (e.error) out.write(`${' '.repeat(`Task ${taskId} | 00:00:00 | `.length - 2)}L Error: ${e.error}\n`);
    },
  };
}

export interface RunTaskOptions {
  readonly store: StateStore;
  readonly clock: Clock;
  readonly out: Writable;
  readonly description: string;
  readonly deployment?: string | null;
  /** Lock names to hold for the task's duration (refused if another live task holds one). */
  readonly locks: readonly string[];
  readonly user?: string;
}

/**
 * Runs `fn` as a recorded task: creates it, takes its locks, streams its events, records its
 * end, and prints bosh-cli's summary. Rethrows the task's error after recording it.
 */
export async function runTask<T>(opts: RunTaskOptions, fn: (task: Task) => Promise<T>): Promise<T> {
  const { store, clock, out } = opts;
  const rec = store.tasks.create({ description: opts.description, deployment: opts.deployment ?? null, user: opts.user ?? 'admin' });
  const holder = { pid: process.pid, hostname: hostname(), processStart: processStartTime(process.pid) };
  const held: string[] = [];
  try {
    for (const name of opts.locks) {
      store.locks.acquire(name, rec.id, { holder });
      held.push(name);
    }
  } catch (err) {
    for (const name of held) store.locks.release(name, rec.id);
    store.tasks.finish(rec.id, 'cancelled', formatErrorChain(err));
    throw err;
  }
  store.tasks.start(rec.id);
  const started = clock.now();
  out.write(`Task ${rec.id}\n\n`);
  const task = new Task(rec.id, store, clock, taskPrinter(out, rec.id));
  let state: 'done' | 'error' = 'done';
  try {
    const v = await fn(task);
    store.tasks.finish(rec.id, 'done', 'ok');
    return v;
  } catch (err) {
    state = 'error';
    store.tasks.finish(rec.id, 'error', formatErrorChain(err));
    throw err;
  } finally {
    for (const name of held) store.locks.release(name, rec.id);
    const ended = clock.now();
    out.write(
      `\nTask ${rec.id} Started  ${started.toUTCString()}\nTask ${rec.id} Finished ${ended.toUTCString()}\nTask ${rec.id} Duration ${formatDuration(ended.getTime() - started.getTime())}\nTask ${rec.id} ${state}\n`,
    );
  }
}
