// The supervisor (monit-like): one detached process per VM that keeps the jobs' processes
// running after the SSH session that started it is gone. It reads the desired state the agent
// writes (sys/run/desired.json), starts processes in job order, restarts crashed ones with
// exponential backoff (`failing` meanwhile), stops in reverse order (SIGTERM, grace, SIGKILL to
// the process group), and records what it sees in sys/run/state.json.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isAlive, readJsonFile, writeFileAtomic } from './files.js';
import type { AgentLayout } from './layout.js';
import type { JobStatus, ProcessSpec, ProcessState, SupervisorDesired, SupervisorState } from './protocol.js';

/** Backoff and health timings; the defaults are monit-like, tests may shorten them. */
export interface SupervisorTimings {
  readonly pollMs: number;
  /** A process alive this long counts as running. */
  readonly healthyAfterMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** A process that ran this long before crashing restarts its backoff from the base. */
  readonly stableAfterMs: number;
}

export const DEFAULT_TIMINGS: SupervisorTimings = {
  pollMs: 100,
  healthyAfterMs: 500,
  backoffBaseMs: 250,
  backoffMaxMs: 30_000,
  stableAfterMs: 10_000,
};

interface Managed {
  readonly key: string;
  readonly job: string;
  readonly hash: string;
  readonly spec: ProcessSpec;
  child: ChildProcess | undefined;
  pid: number | null;
  state: ProcessState;
  restarts: number;
  consecutiveCrashes: number;
  startedAt: number;
  lastExit: { code: number | null; signal: string | null } | null;
  stopping: boolean;
  backoff: NodeJS.Timeout | undefined;
  exited: Promise<void>;
  markExited: () => void;
}

/** Takes the one-per-VM lock; false when a live supervisor holds it. */
function acquireLock(layout: AgentLayout): boolean {
  mkdirSync(layout.runDir, { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(layout.supervisorPidFile, 'wx', 0o644);
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSafe(layout.supervisorPidFile).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) return false;
      rmSync(layout.supervisorPidFile, { force: true });
    }
  }
  return false;
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The start time of a process (/proc/<pid>/stat field 22), to tell a pid from a reused one. */
export function processStartTime(pid: number): string | undefined {
  const stat = readFileSafe(`/proc/${pid}/stat`);
  if (stat === '') return undefined;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // gone
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Supervisor {
  private readonly procs = new Map<string, Managed>();
  /** Keys in the order they were started; stops go in reverse. */
  private order: string[] = [];
  private handledGeneration = -1;
  private graceSeconds = 10;
  private working = false;
  private stateDirty = true;
  private timer: NodeJS.Timeout | undefined;
  private quitting = false;
  private readonly startTimes = new Map<number, string | undefined>();

  constructor(
    private readonly layout: AgentLayout,
    private readonly timings: SupervisorTimings = DEFAULT_TIMINGS,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** Runs until SIGTERM/SIGINT; returns false at once if another supervisor holds the lock. */
  async run(): Promise<boolean> {
    if (!acquireLock(this.layout)) return false;
    this.killOrphans();
    process.on('SIGTERM', () => void this.quit());
    process.on('SIGINT', () => void this.quit());
    process.on('SIGHUP', () => undefined);
    this.log(`supervisor ${process.pid} started`);
    this.tick();
    return true;
  }

  /** Processes a previous supervisor started and left behind when it died: stopped, then restarted fresh. */
  private killOrphans(): void {
    const previous = readJsonFile<SupervisorState & { startTimes?: Record<string, string> }>(this.layout.stateFile);
    if (previous === undefined) return;
    for (const job of previous.jobs) {
      for (const p of job.processes) {
        if (p.pid === null || !isAlive(p.pid)) continue;
        const recorded = previous.startTimes?.[String(p.pid)];
        if (recorded !== undefined && processStartTime(p.pid) !== recorded) continue;
        this.log(`killing orphan ${job.name}/${p.name} (pid ${p.pid})`);
        killGroup(p.pid, 'SIGKILL');
      }
    }
  }

  private tick(): void {
    if (this.quitting) return;
    if (!this.working) {
      this.working = true;
      this.step()
        .catch((err: unknown) => this.log(`error: ${(err as Error).message}`))
        .finally(() => {
          this.working = false;
        });
    }
    this.timer = setTimeout(() => this.tick(), this.timings.pollMs);
  }

  private async step(): Promise<void> {
    const now = Date.now();
    for (const m of this.procs.values()) {
      if (m.state === 'starting' && m.pid !== null && now - m.startedAt >= this.timings.healthyAfterMs) {
        m.state = 'running';
        this.stateDirty = true;
      }
    }
    let desired: SupervisorDesired | undefined;
    try {
      desired = readJsonFile<SupervisorDesired>(this.layout.desiredFile);
    } catch {
      desired = undefined; // a torn read cannot happen (atomic writes); a bad file waits for the next one
    }
    if (desired !== undefined && desired.generation !== this.handledGeneration) {
      await this.reconcile(desired);
      this.handledGeneration = desired.generation;
      this.stateDirty = true;
    } else if (desired === undefined && this.handledGeneration === -1) {
      this.handledGeneration = 0;
      this.stateDirty = true;
    }
    if (this.stateDirty) this.writeState();
  }

  private async reconcile(desired: SupervisorDesired): Promise<void> {
    this.graceSeconds = desired.graceSeconds;
    const wanted = new Map<string, { job: string; hash: string; spec: ProcessSpec }>();
    for (const job of desired.jobs) {
      if (!job.started) continue;
      for (const spec of job.processes) wanted.set(`${job.name}/${spec.name}`, { job: job.name, hash: job.hash, spec });
    }
    const doomed = [...this.order].reverse().filter((key) => {
      const w = wanted.get(key);
      const m = this.procs.get(key);
      return (
        w === undefined || m === undefined || w.hash !== m.hash || JSON.stringify(w.spec) !== JSON.stringify(m.spec)
      );
    });
    for (const key of doomed) {
      const m = this.procs.get(key);
      if (m !== undefined) await this.stopProcess(m);
      this.procs.delete(key);
      this.order = this.order.filter((k) => k !== key);
      this.stateDirty = true;
    }
    for (const [key, w] of wanted) {
      if (this.procs.has(key)) continue;
      let markExited: () => void = () => undefined;
      const exited = new Promise<void>((r) => (markExited = r));
      const m: Managed = {
        key,
        job: w.job,
        hash: w.hash,
        spec: w.spec,
        child: undefined,
        pid: null,
        state: 'starting',
        restarts: 0,
        consecutiveCrashes: 0,
        startedAt: 0,
        lastExit: null,
        stopping: false,
        backoff: undefined,
        exited,
        markExited,
      };
      this.procs.set(key, m);
      this.order.push(key);
      this.spawnProcess(m);
    }
    this.jobsOrder = desired.jobs.map((j) => ({
      name: j.name,
      hash: j.hash,
      started: j.started,
      processes: j.processes.map((p) => p.name),
    }));
  }

  private jobsOrder: { name: string; hash: string; started: boolean; processes: string[] }[] = [];

  private spawnProcess(m: Managed): void {
    m.backoff = undefined;
    const root = this.layout.root;
    const exe = m.spec.executable.includes('/') ? resolve(root, m.spec.executable) : m.spec.executable;
    const cwd = resolve(root, m.spec.cwd ?? `jobs/${m.job}`);
    const logDir = this.layout.jobLogDir(m.job);
    mkdirSync(logDir, { recursive: true });
    const out = openSync(`${logDir}/${m.spec.name}.stdout.log`, 'a', 0o640);
    const err = openSync(`${logDir}/${m.spec.name}.stderr.log`, 'a', 0o640);
    let exited = false;
    let markExited: () => void = () => undefined;
    m.exited = new Promise<void>((r) => (markExited = r));
    m.markExited = markExited;
    const onExit = (code: number | null, signal: string | null): void => {
      if (exited) return;
      exited = true;
      this.onExit(m, code, signal);
    };
    try {
      const child = spawn(exe, [...m.spec.args], {
        cwd,
        env: { ...process.env, ...m.spec.env, DIRECTOR_AGENT_ROOT: root, DIRECTOR_JOB: m.job },
        detached: true,
        stdio: ['ignore', out, err],
      });
      m.child = child;
      m.pid = child.pid ?? null;
      if (m.pid !== null) this.startTimes.set(m.pid, processStartTime(m.pid));
      child.on('error', (e) => {
        // the log descriptors are closed by now (they belong to the child): append by path
        try {
          appendFileSync(`${logDir}/${m.spec.name}.stderr.log`, `supervisor: cannot start ${m.key}: ${e.message}\n`);
        } catch {
          // the log folder went away; the exit below is still recorded
        }
        onExit(127, null);
      });
      child.on('exit', (code, signal) => onExit(code, signal));
    } finally {
      closeSync(out);
      closeSync(err);
    }
    m.startedAt = Date.now();
    m.state = 'starting';
    this.stateDirty = true;
    // healthy on time, not at the next poll: `start` waits for exactly this
    const pid = m.pid;
    if (pid !== null) setTimeout(() => this.markHealthy(m, pid), this.timings.healthyAfterMs).unref();
  }

  private markHealthy(m: Managed, pid: number): void {
    if (this.quitting || m.state !== 'starting' || m.pid !== pid || this.procs.get(m.key) !== m) return;
    m.state = 'running';
    this.writeState();
  }

  private onExit(m: Managed, code: number | null, signal: string | null): void {
    const ranMs = Date.now() - m.startedAt;
    if (m.pid !== null) {
      killGroup(m.pid, 'SIGKILL'); // whatever the process left in its group goes with it
      this.startTimes.delete(m.pid);
    }
    m.child = undefined;
    m.pid = null;
    m.lastExit = { code, signal };
    this.stateDirty = true;
    m.markExited();
    if (m.stopping || this.quitting || this.procs.get(m.key) !== m) {
      m.state = 'stopped';
      return;
    }
    m.consecutiveCrashes = ranMs >= this.timings.stableAfterMs ? 1 : m.consecutiveCrashes + 1;
    m.restarts++;
    m.state = 'failing';
    const delay = Math.min(this.timings.backoffMaxMs, this.timings.backoffBaseMs * 2 ** (m.consecutiveCrashes - 1));
    this.log(`${m.key} exited (code ${code}, signal ${signal}); restarting in ${delay} ms`);
    m.backoff = setTimeout(() => {
      if (this.procs.get(m.key) === m && !m.stopping && !this.quitting) this.spawnProcess(m);
    }, delay);
  }

  private async stopProcess(m: Managed): Promise<void> {
    m.stopping = true;
    if (m.backoff !== undefined) clearTimeout(m.backoff);
    m.backoff = undefined;
    const pid = m.pid;
    if (pid !== null) {
      killGroup(pid, 'SIGTERM');
      const graceMs = this.graceSeconds * 1000;
      const timedOut = await Promise.race([m.exited.then(() => false), sleep(graceMs).then(() => true)]);
      if (timedOut) {
        this.log(`${m.key} did not stop within ${this.graceSeconds} s; SIGKILL`);
        killGroup(pid, 'SIGKILL');
        await Promise.race([m.exited, sleep(5000)]);
      }
    }
    m.state = 'stopped';
    this.stateDirty = true;
    this.writeState();
  }

  private writeState(): void {
    this.stateDirty = false;
    const jobs: JobStatus[] = this.jobsOrder.map((j) => {
      const processes = j.processes.map((name) => {
        const m = this.procs.get(`${j.name}/${name}`);
        return {
          name,
          state: m?.state ?? ('stopped' as ProcessState),
          pid: m?.pid ?? null,
          restarts: m?.restarts ?? 0,
          lastExit: m?.lastExit ?? null,
        };
      });
      return { name: j.name, hash: j.hash, state: overallState(processes.map((p) => p.state)), processes };
    });
    const startTimes: Record<string, string> = {};
    for (const [pid, t] of this.startTimes) if (t !== undefined) startTimes[String(pid)] = t;
    const state: SupervisorState & { startTimes: Record<string, string> } = {
      pid: process.pid,
      generation: this.handledGeneration,
      updatedAt: new Date().toISOString(),
      jobs,
      startTimes,
    };
    writeFileAtomic(this.layout.stateFile, JSON.stringify(state));
  }

  /** Stops every process in reverse order, releases the lock and exits. */
  async quit(): Promise<void> {
    if (this.quitting) return;
    this.quitting = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    while (this.working) await sleep(20);
    for (const key of [...this.order].reverse()) {
      const m = this.procs.get(key);
      if (m !== undefined) await this.stopProcess(m);
    }
    this.writeState();
    if (readFileSafe(this.layout.supervisorPidFile).trim() === String(process.pid))
      rmSync(this.layout.supervisorPidFile, { force: true });
    this.log(`supervisor ${process.pid} stopped`);
    process.exit(0);
  }
}

/** running only when all run; stopped when none runs; otherwise failing beats starting beats the rest. */
export function overallState(states: readonly ProcessState[]): ProcessState {
  if (states.length === 0 || states.every((s) => s === 'stopped')) return 'stopped';
  if (states.every((s) => s === 'running')) return 'running';
  if (states.includes('failing')) return 'failing';
  if (states.includes('starting')) return 'starting';
  return 'failing';
}
