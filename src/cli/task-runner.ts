import { hostname } from 'node:os';
import type { Writable } from 'node:stream';
import { formatErrorChain } from '../errors.js';
import { formatDuration, Task, type Clock, type TaskListener } from '../deploy/task.js';
import { processStartTime, type StateStore } from '../state/index.js';
import { debugSinkFor } from './debug-log.js';

function hhmmss(d: Date): string {
  return d.toISOString().slice(11, 19);
}

/** Prints task events the way bosh-cli does without a terminal: one line per start and end. */
export function taskPrinter(out: Writable, taskId: number): TaskListener {
  const line = (e: { stage: string; task: string; time: Date }) =>
    `Task ${taskId} | ${hhmmss(e.time)} | ${e.stage}: ${e.task}`;
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
  const rec = store.tasks.create({
    description: opts.description,
    deployment: opts.deployment ?? null,
    user: opts.user ?? 'admin',
  });
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
  // What is under way, for Ctrl-C: the steps started and not yet finished.
  const inFlight = new Map<string, string>();
  const printer = taskPrinter(out, rec.id);
  const task = new Task(rec.id, store, clock, {
    ...printer,
    started: (e) => {
      inFlight.set(`${e.stage}\u0000${e.task}`, `${e.stage}: ${e.task}`);
      printer.started(e);
    },
    finished: (e) => {
      inFlight.delete(`${e.stage}\u0000${e.task}`);
      printer.finished(e);
    },
  });
  const interrupted = () => {
    const left = [...inFlight.values()];
    out.write(
      `\nTask ${rec.id} interrupted: recorded as cancelled${left.length ? `; it left under way: ${left.join('; ')}` : ''}.\n` +
        `Every VM and disk is recorded before it is made, so the next run of the command (or cloud-check) finishes or cleans up what it left.\n`,
    );
    try {
      task.debug(`Task ${rec.id} interrupted (SIGINT) during: ${left.join('; ') || 'nothing'}`);
      store.tasks.finish(rec.id, 'cancelled', `interrupted${left.length ? ` during ${left.join('; ')}` : ''}`);
    } finally {
      process.exit(130);
    }
  };
  process.once('SIGINT', interrupted);
  // CPI calls and agent commands made on this store while the task runs land in its debug log.
  const detach = debugSinkFor(store).attach((line) => task.debug(line));
  task.debug(
    `Task ${rec.id} '${opts.description}'${opts.deployment ? ` of deployment '${opts.deployment}'` : ''} started by ${opts.user ?? 'admin'} (pid ${process.pid} on ${hostname()})`,
  );
  let state: 'done' | 'error' = 'done';
  try {
    const v = await fn(task);
    store.tasks.finish(rec.id, 'done', 'ok');
    return v;
  } catch (err) {
    state = 'error';
    debugErrorChain(task, err);
    store.tasks.finish(rec.id, 'error', formatErrorChain(err));
    throw err;
  } finally {
    process.removeListener('SIGINT', interrupted);
    detach();
    for (const name of held) store.locks.release(name, rec.id);
    const ended = clock.now();
    out.write(
      `\nTask ${rec.id} Started  ${started.toUTCString()}\nTask ${rec.id} Finished ${ended.toUTCString()}\nTask ${rec.id} Duration ${formatDuration(ended.getTime() - started.getTime())}\nTask ${rec.id} ${state}\n`,
    );
  }
}

/** The whole error chain in the debug log, one layer a line, with where the innermost one was thrown. */
function debugErrorChain(task: Task, err: unknown): void {
  task.debug(`Task failed: ${formatErrorChain(err)}`);
  let cur: unknown = err;
  let depth = 0;
  const seen = new Set<unknown>();
  while (cur instanceof Error && !seen.has(cur)) {
    seen.add(cur);
    const next = (cur as { cause?: unknown }).cause;
    task.debug(
      `${'  '.repeat(depth)}${depth ? 'caused by ' : ''}${cur.name}: ${cur.message.replace(/\s*\n\s*/g, ' ')}`,
    );
    if (!(next instanceof Error)) {
      const frames = (cur.stack ?? '')
        .split('\n')
        .filter((l) => l.trim().startsWith('at '))
        .slice(0, 5);
      for (const f of frames) task.debug(`${'  '.repeat(depth + 1)}${f.trim()}`);
    }
    cur = next;
    depth++;
  }
}
