// The agent: `node <root>/bosh/agent.cjs <command> [--root <root>]`, one JSON request on stdin,
// one JSON response line on stdout (streaming commands write event lines first). `supervise`
// runs the supervisor instead (started by the agent itself, detached).
import { installJobs, removeStale } from './apply.js';
import { migrateDisk, mountDisk, mountedDisks, unmountDisk } from './disks.js';
import { AgentFailure } from './failure.js';
import { readJsonFile } from './files.js';
import type { AgentLayout } from './layout.js';
import { agentLayout } from './layout.js';
import { fetchLogs } from './logs.js';
import type {
  AgentCommand,
  AgentEvent,
  AgentResponse,
  AgentSettingsFile,
  AgentStateValue,
  ApplyRequest,
  DrainRequest,
  FetchLogsRequest,
  GetStateRequest,
  JobStatus,
  MigrateDiskRequest,
  MountDiskRequest,
  RunErrandRequest,
  RunScriptRequest,
  StartRequest,
  StopRequest,
  SupervisorDesired,
  SupervisorState,
  UnmountDiskRequest,
} from './protocol.js';
import { drainJobs, killRunningScripts, runErrand, runJobScripts } from './scripts.js';
import { overallState, Supervisor } from './supervisor.js';
import {
  ensureSupervisor,
  readDesired,
  readSupervisorState,
  waitForSupervisor,
  writeDesired,
} from './supervisor-control.js';
import { collectVitals } from './vitals.js';

const COMMANDS: readonly AgentCommand[] = [
  'ping',
  'apply',
  'get_state',
  'start',
  'stop',
  'drain',
  'mount_disk',
  'unmount_disk',
  'migrate_disk',
  'run_errand',
  'fetch_logs',
  'run_script',
];

function writeLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function emit(event: AgentEvent): void {
  writeLine(event);
}

/** Joins what the agent wants (desired.json) with what the supervisor sees (state.json). */
export function composeState(desired: SupervisorDesired, sup: SupervisorState | undefined): AgentStateValue {
  const jobs: JobStatus[] = desired.jobs.map((job) => {
    const seen =
      sup !== undefined && sup.generation >= desired.generation
        ? sup.jobs.find((j) => j.name === job.name && j.hash === job.hash)
        : undefined;
    const processes = job.processes.map((p) => {
      const s = seen?.processes.find((x) => x.name === p.name);
      if (s !== undefined) return s;
      return {
        name: p.name,
        state: job.started ? ('starting' as const) : ('stopped' as const),
        pid: null,
        restarts: 0,
        lastExit: null,
      };
    });
    return { name: job.name, hash: job.hash, state: overallState(processes.map((p) => p.state)), processes };
  });
  const all = jobs.flatMap((j) => j.processes.map((p) => p.state));
  // As on BOSH, where monit with nothing to watch reports running: a VM whose jobs run no
  // process (an instance group with `jobs: []`) is running once it is up, unless stopped.
  if (all.length === 0) return { state: desired.jobs.every((j) => j.started) ? 'running' : 'stopped', jobs };
  return { state: overallState(all), jobs };
}

async function currentState(layout: AgentLayout, withVitals: boolean): Promise<AgentStateValue> {
  const state = composeState(readDesired(layout), readSupervisorState(layout));
  if (!withVitals) return state;
  return {
    ...state,
    vitals: await collectVitals(
      layout,
      Object.values(mountedDisks(layout)).some((d) => d.mountPoint === 'store'),
    ),
  };
}

function processCount(desired: SupervisorDesired): number {
  return desired.jobs.reduce((n, j) => n + j.processes.length, 0);
}

async function dispatch(command: AgentCommand, layout: AgentLayout, request: unknown, self: string): Promise<unknown> {
  switch (command) {
    case 'ping': {
      // The director writes `agentId`; the local CPI writes the same file BOSH-style (`agent_id`).
      const settings = readJsonFile<AgentSettingsFile & { agent_id?: string }>(layout.settingsFile);
      return {
        pong: true,
        agentId: settings?.agentId ?? settings?.agent_id ?? null,
        root: layout.root,
        node: process.version,
      };
    }
    case 'apply': {
      const req = request as ApplyRequest;
      const previous = readDesired(layout);
      const outcome = installJobs(
        layout,
        req,
        previous.jobs.map((j) => j.name),
      );
      const nextJobs = req.jobs.map((job) => ({
        name: job.name,
        hash: outcome.hashes.get(job.name) ?? '',
        started: previous.jobs.find((j) => j.name === job.name)?.started ?? false,
        processes: job.processes,
      }));
      await ensureSupervisor(layout, self);
      const same = JSON.stringify(nextJobs) === JSON.stringify(previous.jobs);
      if (!same) {
        const next = writeDesired(layout, (cur) => ({ graceSeconds: cur.graceSeconds, jobs: nextJobs }));
        await waitForSupervisor(
          layout,
          self,
          next.generation,
          () => true,
          60_000 + processCount(previous) * previous.graceSeconds * 1000,
          'Applying',
        );
      }
      removeStale(layout, outcome);
      return { changed: outcome.changed, unchanged: outcome.unchanged, removed: outcome.removed };
    }
    case 'get_state': {
      await ensureSupervisor(layout, self);
      return currentState(layout, (request as GetStateRequest)?.vitals === true);
    }
    case 'start': {
      const req = (request ?? {}) as StartRequest;
      await ensureSupervisor(layout, self);
      const next = writeDesired(layout, (cur) => ({
        graceSeconds: cur.graceSeconds,
        jobs: cur.jobs.map((j) => ({ ...j, started: true })),
      }));
      await waitForSupervisor(
        layout,
        self,
        next.generation,
        (sup) => composeState(next, sup).jobs.every((j) => j.processes.every((p) => p.state !== 'starting')),
        (req.timeoutSeconds ?? 30) * 1000,
        'Starting',
      );
      return currentState(layout, false);
    }
    case 'stop': {
      const req = (request ?? {}) as StopRequest;
      const grace = req.graceSeconds ?? 10;
      await ensureSupervisor(layout, self);
      const next = writeDesired(layout, (cur) => ({
        graceSeconds: grace,
        jobs: cur.jobs.map((j) => ({ ...j, started: false })),
      }));
      await waitForSupervisor(
        layout,
        self,
        next.generation,
        (sup) => composeState(next, sup).jobs.every((j) => j.processes.every((p) => p.state === 'stopped')),
        (req.timeoutSeconds ?? 30 + processCount(next) * (grace + 5)) * 1000,
        'Stopping',
      );
      return currentState(layout, false);
    }
    case 'drain':
      return drainJobs(
        layout,
        readDesired(layout).jobs.map((j) => j.name),
        request as DrainRequest,
      );
    case 'run_script':
      return runJobScripts(
        layout,
        readDesired(layout).jobs.map((j) => j.name),
        request as RunScriptRequest,
      );
    case 'mount_disk':
      return mountDisk(layout, request as MountDiskRequest);
    case 'unmount_disk':
      return unmountDisk(layout, request as UnmountDiskRequest);
    case 'migrate_disk':
      return migrateDisk(layout, request as MigrateDiskRequest);
    case 'run_errand':
      return runErrand(layout, request as RunErrandRequest, (stream, data) => emit({ stream, data }));
    case 'fetch_logs':
      return fetchLogs(layout, (request ?? {}) as FetchLogsRequest, (chunk) =>
        emit({ stream: 'data', base64: chunk.toString('base64') }),
      );
  }
}

/**
 * The request: all of stdin, or with --cancel-on-eof its first line — the director then keeps
 * stdin open, and its end before the response means the director gave up (timeout, lost
 * connection): `abandon` stops what the command started.
 */
function readRequest(cancelOnEof: boolean, abandon: () => void): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    let done = false;
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => {
      if (done) return;
      text += chunk;
      const nl = text.indexOf('\n');
      if (cancelOnEof && nl !== -1) {
        done = true;
        resolve(text.slice(0, nl));
      }
    });
    process.stdin.on('end', () => {
      if (!done) {
        done = true;
        resolve(text);
      } else if (cancelOnEof && !finished) abandon();
    });
    process.stdin.on('error', () => {
      if (!done) {
        done = true;
        resolve(text);
      }
    });
  });
}

let finished = false;

function parseArgs(argv: readonly string[]): { command: string | undefined; root: string; cancelOnEof: boolean } {
  let root = process.cwd();
  let command: string | undefined;
  let cancelOnEof = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--cancel-on-eof') cancelOnEof = true;
    else if (a === '--root') root = argv[++i] ?? root;
    else if (a.startsWith('--root=')) root = a.slice('--root='.length);
    else if (command === undefined) command = a;
  }
  return { command, root, cancelOnEof };
}

async function main(): Promise<void> {
  const { command, root, cancelOnEof } = parseArgs(process.argv.slice(2));
  const layout = agentLayout(root);
  const self = process.argv[1] ?? __filename;
  if (command === 'supervise') {
    const sup = new Supervisor(layout, undefined, (line) =>
      process.stdout.write(`${new Date().toISOString()} ${line}\n`),
    );
    if (!(await sup.run())) process.exit(0);
    return;
  }
  // The director gave up (stdin closed early, a signal) or the connection is gone (stdout
  // closed): stop the scripts this command started instead of leaving them running.
  const abandon = (): void => {
    killRunningScripts();
    process.exit(143);
  };
  process.on('SIGTERM', abandon);
  process.on('SIGHUP', abandon);
  process.on('SIGINT', abandon);
  process.stdout.on('error', abandon);
  let response: AgentResponse;
  try {
    if (command === undefined || !(COMMANDS as readonly string[]).includes(command)) {
      throw new AgentFailure(
        'bad_request',
        `unknown command '${command ?? ''}' (expected one of ${COMMANDS.join(', ')})`,
      );
    }
    const text = await readRequest(cancelOnEof, abandon);
    let request: unknown = {};
    if (text.trim() !== '') {
      try {
        request = JSON.parse(text);
      } catch {
        throw new AgentFailure('bad_request', `${command}: the request on stdin is not JSON`);
      }
    }
    response = { ok: true, value: await dispatch(command as AgentCommand, layout, request, self) };
  } catch (err) {
    response =
      err instanceof AgentFailure
        ? { ok: false, error: { kind: err.kind, message: err.message } }
        : { ok: false, error: { kind: 'internal', message: (err as Error)?.message ?? String(err) } };
  }
  finished = true;
  writeLine(response);
  process.exitCode = response.ok ? 0 : 1;
  process.stdin.destroy();
}

void main();
