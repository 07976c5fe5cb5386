// Job scripts: drain (BOSH semantics), pre-start / post-start / post-deploy, and errands.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { AgentFailure } from './failure.js';
import type { AgentLayout } from './layout.js';
import type {
  DrainRequest,
  DrainValue,
  RunErrandRequest,
  RunErrandValue,
  RunScriptRequest,
  RunScriptValue,
} from './protocol.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Process groups of the scripts running now, so that an interrupted command leaves none behind. */
const liveGroups = new Set<number>();

function track(pid: number | undefined): () => void {
  if (pid === undefined) return () => undefined;
  liveGroups.add(pid);
  return () => liveGroups.delete(pid);
}

/** SIGKILLs every script process group this command started (on SIGTERM/SIGHUP or a closed stdout). */
export function killRunningScripts(): void {
  for (const pid of liveGroups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  liveGroups.clear();
}

interface Finished {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** Runs a script in its job folder; SIGKILLs its process group after `timeoutMs`. */
function runCaptured(
  file: string,
  args: readonly string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number; stdoutFd?: number; stderrFd?: number },
): Promise<Finished> {
  return new Promise((resolve) => {
    const child = spawn(file, [...args], {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: ['ignore', opts.stdoutFd ?? 'pipe', opts.stderrFd ?? 'pipe'],
    });
    const untrack = track(child.pid);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => err.push(d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }, opts.timeoutMs);
    const finish = (code: number | null, signal: string | null): void => {
      clearTimeout(timer);
      untrack();
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      });
    };
    child.on('error', (e) => {
      err.push(Buffer.from(e.message));
      finish(127, null);
    });
    child.on('close', finish);
  });
}

function scriptEnv(layout: AgentLayout, job: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, DIRECTOR_AGENT_ROOT: layout.root, DIRECTOR_JOB: job, ...extra };
}

function tail(text: string): string {
  const t = text.trim();
  return t.length > 300 ? `…${t.slice(-300)}` : t;
}

/**
 * Runs every job's bin/drain (in parallel, as BOSH does). A script prints an integer: N ≥ 0 →
 * wait N seconds, done; N < 0 → wait |N| seconds and call it again with `job_check_status`.
 */
export async function drainJobs(layout: AgentLayout, jobs: readonly string[], req: DrainRequest): Promise<DrainValue> {
  if (req?.type !== 'shutdown' && req?.type !== 'update')
    throw new AgentFailure('bad_request', "drain: type must be 'shutdown' or 'update'");
  const maxWait = req.maxWaitSeconds ?? 600;
  const changed = new Set(req.changedJobs ?? []);
  const withDrain = jobs.filter((j) => existsSync(join(layout.jobDir(j), 'bin', 'drain')));
  const results = await Promise.all(
    withDrain.map(async (job) => {
      const script = join(layout.jobDir(job), 'bin', 'drain');
      let args: string[] =
        req.type === 'shutdown'
          ? ['job_shutdown', 'hash_unchanged']
          : [
              changed.has(job) ? 'job_changed' : 'job_unchanged',
              changed.has(job) ? 'hash_changed' : 'hash_unchanged',
              ...(req.changedPackages ?? []),
            ];
      let calls = 0;
      let waited = 0;
      for (;;) {
        calls++;
        const r = await runCaptured(script, args, {
          cwd: layout.jobDir(job),
          env: scriptEnv(layout, job, {
            BOSH_JOB_STATE: JSON.stringify({ job: { name: job } }),
            BOSH_JOB_NEXT_STATE: JSON.stringify({ job: { name: job } }),
          }),
          timeoutMs: maxWait * 1000,
        });
        if (r.timedOut) throw new AgentFailure('timeout', `drain script of job '${job}' ran longer than ${maxWait} s`);
        if (r.code !== 0)
          throw new AgentFailure(
            'script_failed',
            `drain script of job '${job}' exited with ${r.code ?? r.signal}: ${tail(r.stderr)}`,
          );
        const printed = r.stdout.trim();
        if (!/^-?\d+$/.test(printed))
          throw new AgentFailure(
            'script_failed',
            `drain script of job '${job}' printed '${tail(printed)}' instead of an integer`,
          );
        const n = Number(printed);
        if (waited + Math.abs(n) > maxWait)
          throw new AgentFailure('timeout', `drain script of job '${job}' asked to wait beyond ${maxWait} s`);
        await sleep(Math.abs(n) * 1000);
        waited += Math.abs(n);
        if (n >= 0) break;
        args = ['job_check_status', 'hash_unchanged'];
      }
      return { name: job, calls, waitedSeconds: waited };
    }),
  );
  return { jobs: results };
}

/** Runs bin/<name> of every job that has it (in parallel); output goes to sys/log/<job>/<name>.*.log. */
export async function runJobScripts(
  layout: AgentLayout,
  jobs: readonly string[],
  req: RunScriptRequest,
): Promise<RunScriptValue> {
  const name = req?.name;
  if (name !== 'pre-start' && name !== 'post-start' && name !== 'post-deploy') {
    throw new AgentFailure('bad_request', 'run_script: name must be pre-start, post-start or post-deploy');
  }
  const timeoutMs = (req.timeoutSeconds ?? 600) * 1000;
  const withScript = jobs.filter((j) => existsSync(join(layout.jobDir(j), 'bin', name)));
  const results = await Promise.all(
    withScript.map(async (job) => {
      const logDir = layout.jobLogDir(job);
      mkdirSync(logDir, { recursive: true });
      const out = openSync(join(logDir, `${name}.stdout.log`), 'a', 0o640);
      const err = openSync(join(logDir, `${name}.stderr.log`), 'a', 0o640);
      try {
        const r = await runCaptured(join(layout.jobDir(job), 'bin', name), [], {
          cwd: layout.jobDir(job),
          env: scriptEnv(layout, job),
          timeoutMs,
          stdoutFd: out,
          stderrFd: err,
        });
        return { name: job, exitCode: r.timedOut ? -1 : (r.code ?? 128), timedOut: r.timedOut };
      } finally {
        closeSync(out);
        closeSync(err);
      }
    }),
  );
  const failed = results.filter((r) => r.exitCode !== 0);
  if (failed.length > 0) {
    const what = failed
      .map((f) => (f.timedOut ? `'${f.name}' timed out` : `'${f.name}' exited with ${f.exitCode}`))
      .join(', ');
    throw new AgentFailure(
      'script_failed',
      `${name} script failed for job ${what} (see sys/log/<job>/${name}.stderr.log)`,
    );
  }
  return { jobs: results.map(({ name: n, exitCode }) => ({ name: n, exitCode })) };
}

/** Runs jobs/<job>/bin/run, streaming its output through `emit`. */
export async function runErrand(
  layout: AgentLayout,
  req: RunErrandRequest,
  emit: (stream: 'stdout' | 'stderr', data: string) => void,
): Promise<RunErrandValue> {
  if (typeof req?.job !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(req.job))
    throw new AgentFailure('bad_request', 'run_errand: job must be a job name');
  const script = join(layout.jobDir(req.job), 'bin', 'run');
  if (!existsSync(script)) throw new AgentFailure('not_found', `run_errand: job '${req.job}' has no bin/run`);
  const timeoutMs = (req.timeoutSeconds ?? 3600) * 1000;
  return new Promise((resolve) => {
    const child = spawn(script, [...(req.args ?? [])], {
      cwd: layout.jobDir(req.job),
      env: scriptEnv(layout, req.job),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const untrack = track(child.pid);
    child.stdout.setEncoding('utf8').on('data', (d: string) => emit('stdout', d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => emit('stderr', d));
    const timer = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }, timeoutMs);
    child.on('error', (e) => emit('stderr', `${e.message}\n`));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      untrack();
      resolve({ exitCode: code, signal });
    });
  });
}
