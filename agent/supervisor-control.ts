// The agent's side of the supervisor: start it when it is not running, hand it a new desired
// state, and wait until it has acted on it.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { AgentFailure } from './failure.js';
import { isAlive, readJsonFile, writeFileAtomic } from './files.js';
import type { AgentLayout } from './layout.js';
import type { SupervisorDesired, SupervisorState } from './protocol.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function supervisorPid(layout: AgentLayout): number | undefined {
  let text: string;
  try {
    text = readFileSync(layout.supervisorPidFile, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

/**
 * Starts the supervisor (detached, its own session, output to sys/log/supervisor.log) unless a
 * live one holds the lock, and waits until it has recorded its state.
 */
export async function ensureSupervisor(layout: AgentLayout, agentScript: string, timeoutMs = 10_000): Promise<number> {
  let pid = supervisorPid(layout);
  if (pid === undefined) {
    mkdirSync(layout.runDir, { recursive: true });
    mkdirSync(layout.logDir, { recursive: true });
    const log = openSync(layout.supervisorLog, 'a', 0o640);
    try {
      const child = spawn(process.execPath, [agentScript, 'supervise', '--root', layout.root], {
        cwd: layout.root,
        detached: true,
        stdio: ['ignore', log, log],
        env: process.env,
      });
      child.on('error', () => undefined);
      child.unref();
    } finally {
      closeSync(log);
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    pid = supervisorPid(layout);
    if (pid !== undefined) {
      const state = readSupervisorState(layout);
      if (state !== undefined && state.pid === pid && state.generation >= 0) return pid;
    }
    if (Date.now() > deadline)
      throw new AgentFailure(
        'timeout',
        `The supervisor did not start within ${timeoutMs} ms (see sys/log/supervisor.log)`,
      );
    await sleep(25);
  }
}

export function readDesired(layout: AgentLayout): SupervisorDesired {
  return readJsonFile<SupervisorDesired>(layout.desiredFile) ?? { generation: 0, graceSeconds: 10, jobs: [] };
}

export function readSupervisorState(layout: AgentLayout): SupervisorState | undefined {
  try {
    return readJsonFile<SupervisorState>(layout.stateFile);
  } catch {
    return undefined;
  }
}

/** Writes the next desired state (generation + 1) and returns it. */
export function writeDesired(
  layout: AgentLayout,
  change: (current: SupervisorDesired) => Omit<SupervisorDesired, 'generation'>,
): SupervisorDesired {
  const current = readDesired(layout);
  const next: SupervisorDesired = { ...change(current), generation: current.generation + 1 };
  writeFileAtomic(layout.desiredFile, JSON.stringify(next, null, 1), 0o600); // process env may hold secrets
  return next;
}

/** Waits until the supervisor has acted on `generation` and `done(state)` holds. */
export async function waitForSupervisor(
  layout: AgentLayout,
  agentScript: string,
  generation: number,
  done: (state: SupervisorState) => boolean,
  timeoutMs: number,
  what: string,
): Promise<SupervisorState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = readSupervisorState(layout);
    if (state !== undefined && state.generation >= generation && done(state)) return state;
    if (supervisorPid(layout) === undefined) await ensureSupervisor(layout, agentScript);
    if (Date.now() > deadline)
      throw new AgentFailure(
        'timeout',
        `${what}: the supervisor did not finish within ${Math.round(timeoutMs / 1000)} s`,
      );
    await sleep(25);
  }
}
