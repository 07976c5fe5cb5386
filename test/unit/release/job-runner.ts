import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RenderedJob } from '../../../src/plan/plan.js';
import type { Blobstore } from '../../../src/release/blobstore.js';
import { unpackTar } from '../../../src/release/tar.js';

/**
 * Lays rendered jobs and their packages out under an instance root the way the agent does
 * (jobs/<job>/..., bin/ executable; packages/<name>/ unpacked from its blob; the agent's
 * DIRECTOR_AGENT_ROOT and DIRECTOR_JOB in the environment) and runs their
 * processes and scripts — real processes, in their own process groups so that tests can end
 * every child they started.
 */
export function installJobs(root: string, jobs: readonly RenderedJob[], blobs: Blobstore): void {
  for (const job of jobs) {
    for (const [path, text] of Object.entries(job.templates)) {
      const file = join(root, 'jobs', job.name, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text, { mode: 0o600 });
      if (path.startsWith('bin/')) chmodSync(file, 0o755);
    }
    for (const [name, id] of Object.entries(job.packages)) {
      for (const e of unpackTar(blobs.get(id))) {
        const file = join(root, 'packages', name, e.path);
        if (!e.data) mkdirSync(file, { recursive: true });
        else {
          mkdirSync(dirname(file), { recursive: true });
          writeFileSync(file, e.data, { mode: e.mode & 0o777 });
        }
      }
    }
  }
  mkdirSync(join(root, 'store'), { recursive: true });
}

export interface Started {
  readonly name: string;
  readonly child: ChildProcess;
  readonly log: string;
  readonly exited: Promise<void>;
}

/** Starts every process of `job` (stdout and stderr to <root>/sys/log/<job>/<process>.log). */
export function startProcesses(root: string, job: RenderedJob): Started[] {
  return job.processes.map((p) => {
    const logDir = join(root, 'sys', 'log', job.name);
    mkdirSync(logDir, { recursive: true });
    const log = join(logDir, `${p.name}.log`);
    const fd = openSync(log, 'a');
    const exe = p.executable.includes('/') ? join(root, p.executable) : p.executable;
    const child = spawn(exe, [...p.args], {
      cwd: join(root, p.cwd ?? `jobs/${job.name}`),
      env: { ...process.env, ...p.env, DIRECTOR_AGENT_ROOT: root, DIRECTOR_JOB: job.name },
      stdio: ['ignore', fd, fd],
      detached: true,
    });
    closeSync(fd);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return { name: `${job.name}/${p.name}`, child, log, exited };
  });
}

/** Runs a job's script (bin/drain, bin/post-start, bin/run ...); resolves with its exit code and output. */
export function runScript(
  root: string,
  job: string,
  script: string,
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      join(root, 'jobs', job, script),
      [],
      {
        cwd: join(root, 'jobs', job),
        env: { ...process.env, DIRECTOR_AGENT_ROOT: root, DIRECTOR_JOB: job },
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
      },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Ends every started process group: SIGTERM, then SIGKILL after `graceMs`; waits for each exit. */
export async function stopAll(started: readonly Started[], graceMs = 5000): Promise<void> {
  const kill = (s: Started, sig: NodeJS.Signals) => {
    try {
      process.kill(-s.child.pid!, sig);
    } catch {
      // the group is gone already
    }
  };
  for (const s of started) if (s.child.exitCode === null && s.child.signalCode === null) kill(s, 'SIGTERM');
  const timer = setTimeout(() => started.forEach((s) => kill(s, 'SIGKILL')), graceMs);
  await Promise.all(started.map((s) => s.exited));
  clearTimeout(timer);
  // Children of the wrapper that outlived it (none expected): end the whole group.
  started.forEach((s) => kill(s, 'SIGKILL'));
}

export function readLog(s: Started): string {
  return readFileSync(s.log, 'utf8');
}

/** Polls `check` until it returns true or `timeoutMs` passes; the last error is rethrown. */
export async function eventually(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not reached in ${timeoutMs} ms${last ? ` (${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
